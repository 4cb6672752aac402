"""Whether each device answers: one state per device, worked out in one place from what its driver reports.

The retained inventory (MQTT) reads its ``online``; the control socket's device list reads all of it. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from edge_agent.config.devices import SimulatedDeviceConfig
from edge_agent.frozen import frozen
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.modbus.config import ModbusDeviceConfig


class ModbusDeviceStatus(TypedDict):
    """What the Modbus service reports of one device (``devices_status``)."""

    name: str
    profile: str
    line: str
    unit: int
    online: bool | None  # None: not polled yet
    last_seen: float | None
    polls: int
    errors: dict[str, int]  # failures by kind
    last_error: str | None
    submit_failures: int
    requests_per_poll: int
    values: dict[str, dict[str, Any]]
    recent_frames: list[str]
    usable: NotRequired[bool]  # False: its profile cannot be used, it is not polled (``problem`` says why)
    problem: NotRequired[str]


class LorawanDeviceStatus(TypedDict):
    """What the LoRaWAN service reports of one device (``devices_status``)."""

    device: str
    dev_eui: str
    codec: str
    last_seen: float | None  # None: not heard since the agent started
    f_cnt: int | None
    rssi: float | None
    snr: float | None
    spreading_factor: int | None
    gateway: str | None
    battery_percent: float | None
    uplinks: int
    lost_uplinks: int
    counter_resets: int
    decode_errors: int
    duplicates: int
    silent: bool  # not heard for longer than its config allows
    alarms: list[str]  # the alarms the device itself reports raised
    missing_fields: int
    usable: bool
    problem: str | None  # why its codec cannot be used


@frozen
class DeviceState:
    """One device as the technician and the hypervisor see it."""

    online: bool | None  # None: not known yet
    last_seen: float | None = None  # Unix time of the last record of it (or of its last uplink)
    errors: int = 0
    last_error: str | None = None
    device_alarms: tuple[str, ...] = ()  # the alarms the device itself reports raised (LoRaWAN)


def device_states(devices: Sequence[ModbusDeviceConfig | LorawanDeviceConfig | SimulatedDeviceConfig],
                  modbus: Iterable[ModbusDeviceStatus], lorawan: Iterable[LorawanDeviceStatus],
                  heard: Mapping[str, float | None] | None = None, now: float = 0.0) -> dict[str, DeviceState]:
    """The state of every device of the site, by name.

    ``heard``: when a record of each device was last committed, where someone follows the records (the control
    socket); a device no driver reports on (a simulated one) is then online while its records keep coming. Without
    it, that device's state is not known (None).
    """
    polled = {status["name"]: status for status in modbus}
    uplinks = {status["device"]: status for status in lorawan}
    last_heard = heard if heard is not None else {}
    states: dict[str, DeviceState] = {}
    for device in devices:
        seen = last_heard.get(device.name)
        if device.name in polled:
            state = polled[device.name]
            states[device.name] = DeviceState(online=state["online"], last_seen=seen,
                                              errors=sum(state["errors"].values()), last_error=state["last_error"])
        elif device.name in uplinks:
            states[device.name] = _lorawan_state(uplinks[device.name], seen)
        elif heard is None:
            states[device.name] = DeviceState(online=None)
        else:
            interval = device.uplink_interval if isinstance(device, LorawanDeviceConfig) else device.poll_interval
            states[device.name] = DeviceState(online=seen is not None and now - seen < 3 * interval + 2,
                                              last_seen=seen)
    return states


def _lorawan_state(state: LorawanDeviceStatus, seen: float | None) -> DeviceState:
    last_error = None
    if state["problem"]:
        last_error = f"codec unusable: {state['problem']}"
    elif state["missing_fields"]:
        last_error = f"{state['missing_fields']} mapped field(s) missing from ChirpStack's object"
    return DeviceState(
        online=not state["silent"] if state["last_seen"] is not None else None,
        last_seen=max(seen or 0.0, state["last_seen"] or 0.0) or None,
        errors=state["decode_errors"] + state["lost_uplinks"] + state["missing_fields"],
        last_error=last_error, device_alarms=tuple(state["alarms"]))
