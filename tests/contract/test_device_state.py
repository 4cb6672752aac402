"""One state per device, from what the drivers report: the inventory and the control socket both read it."""

from __future__ import annotations

from edge_agent.config.devices import SimulatedDeviceConfig
from edge_agent.device_state import DeviceState, LorawanDeviceStatus, ModbusDeviceStatus, device_states
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.modbus.config import ModbusDeviceConfig

CABINET = ModbusDeviceConfig(driver="modbus", name="cabinet", profile="eastron_sdm120", host="127.0.0.1")
BIN = LorawanDeviceConfig(driver="lorawan", name="bin-1", dev_eui="0011223344556677", codec="dingtek_df702",
                          uplink_interval=600)
METER = SimulatedDeviceConfig(driver="simulated", name="meter", poll_interval=5,
                              points=[{"name": "p", "unit": "kW", "base": 1}])
DEVICES: list[ModbusDeviceConfig | LorawanDeviceConfig | SimulatedDeviceConfig] = [CABINET, BIN, METER]


def _modbus(**overrides: object) -> ModbusDeviceStatus:
    status: ModbusDeviceStatus = {
        "name": "cabinet", "profile": "eastron_sdm120", "line": "tcp:127.0.0.1:502", "unit": 1, "online": True,
        "last_seen": 90.0, "polls": 3, "errors": {"timeout": 2, "exception": 1}, "last_error": "timeout",
        "submit_failures": 0,
        "requests_per_poll": 1, "values": {}, "recent_frames": []}
    return {**status, **overrides}  # type: ignore[typeddict-item]


def _lorawan(**overrides: object) -> LorawanDeviceStatus:
    status: LorawanDeviceStatus = {
        "device": "bin-1", "dev_eui": "0011223344556677", "codec": "dingtek_df702", "last_seen": 50.0, "f_cnt": 4,
        "rssi": -90.0, "snr": 7.5, "spreading_factor": 7, "gateway": "g", "battery_percent": None, "uplinks": 4,
        "lost_uplinks": 1, "counter_resets": 0, "decode_errors": 2, "duplicates": 0, "silent": False,
        "alarms": ["fire"], "missing_fields": 0, "usable": True, "problem": None}
    return {**status, **overrides}  # type: ignore[typeddict-item]


def test_each_driver_reports_its_devices_state() -> None:
    states = device_states(DEVICES, [_modbus()], [_lorawan()], heard={"cabinet": 95.0, "bin-1": 60.0}, now=100.0)
    assert states["cabinet"] == DeviceState(online=True, last_seen=95.0, errors=3, last_error="timeout")
    assert states["bin-1"] == DeviceState(online=True, last_seen=60.0, errors=3, last_error=None,
                                          device_alarms=("fire",))


def test_a_lorawan_device_not_heard_yet_is_not_known_and_a_silent_one_is_offline() -> None:
    assert device_states(DEVICES, [], [_lorawan(last_seen=None)])["bin-1"].online is None
    silent = device_states(DEVICES, [], [_lorawan(silent=True, problem="no such codec")])["bin-1"]
    assert silent.online is False and silent.last_error == "codec unusable: no such codec"
    missing = device_states(DEVICES, [], [_lorawan(missing_fields=2)])["bin-1"]
    assert missing.errors == 5 and missing.last_error == "2 mapped field(s) missing from ChirpStack's object"


def test_a_modbus_device_not_polled_yet_is_not_known() -> None:
    assert device_states(DEVICES, [_modbus(online=None)], [])["cabinet"].online is None


def test_a_device_no_driver_reports_on_is_judged_by_its_records_only_where_they_are_followed() -> None:
    assert device_states(DEVICES, [], [])["meter"] == DeviceState(online=None)
    assert device_states(DEVICES, [], [], heard={"meter": 90.0}, now=100.0)["meter"].online is True
    assert device_states(DEVICES, [], [], heard={"meter": 80.0}, now=100.0)["meter"].online is False  # > 3 x 5 + 2 s
    assert device_states(DEVICES, [], [], heard={}, now=100.0)["meter"] == DeviceState(online=False)
