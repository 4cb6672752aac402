"""Readings of a whole site as its drivers make them, from the shipped driver files: every point of each Modbus
profile (its simulator value), every uplink of each codec's vectors decoded by the real codec (with the radio
metadata the LoRaWAN side adds), every point of each simulated device."""

from __future__ import annotations

import yaml

from edge_agent.config.devices import SimulatedDeviceConfig
from edge_agent.config.site import SiteConfig
from edge_agent.lorawan.codec_api import CodecOptions
from edge_agent.lorawan.codecs import default_registry
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.lorawan.events import Radio, UplinkFrame
from edge_agent.lorawan.records import point_readings, radio_readings
from edge_agent.modbus.config import ModbusDeviceConfig
from edge_agent.modbus.profile import load_profile
from edge_agent.reading import Reading, Record
from edge_agent.store.rows import StoredRecord

NOW = 1_795_000_000.0


def modbus_readings(device: ModbusDeviceConfig, ts: float, step: int) -> list[Reading]:
    out = []
    for point in load_profile(device.profile).points:
        base = point.sim.base if point.sim is not None else 0.0
        value: object
        if point.table in ("coil", "discrete") or point.type == "bit":
            value = bool(base)
        elif point.type == "string":
            value = "0102"
        elif point.name == "mode":
            value = int(base)
        else:
            value = round(base + step * 0.5 * (point.sim.amplitude if point.sim else 0), 3)
        # one poll reads block by block: its readings are milliseconds apart
        out.append(Reading(device.name, point.name, value, ts + 0.001 * point.address, point.unit))  # type: ignore[arg-type]
    return out


def lorawan_readings(device: LorawanDeviceConfig, ts: float, step: int) -> list[Record]:
    registry = default_registry()
    codec = registry.get(device.codec)
    vectors = yaml.safe_load(registry.vectors_path(device.codec).read_text())
    out: list[Record] = []
    for n, vector in enumerate(v for v in vectors["uplinks"] if "error" not in v):
        data = bytes.fromhex(vector["hex"])
        decoded = codec.decode(int(vector["f_port"]), data, CodecOptions(**vector.get("options", {})))
        at = ts + n
        uplink = UplinkFrame(device.dev_eui, "app", f"{device.name}-{step}-{n}", at, 100 * step + n,
                             int(vector["f_port"]), data, False, Radio("0016c001ff10a235", -97 + n, 7.5, 7))
        out += point_readings(device.name, decoded, at, True) + radio_readings(device.name, uplink, at, True)
    return out


def simulated_readings(device: SimulatedDeviceConfig, ts: float, step: int) -> list[Reading]:
    return [Reading(device.name, p.name, p.base + step * p.amplitude, ts, p.unit) for p in device.points]


def site_records(config: SiteConfig, *, polls: int = 2, first_seq: int = 1, start: float = NOW) -> list[StoredRecord]:
    """``polls`` rounds of every device's readings, numbered as the store would."""
    records: list[Record] = []
    for step in range(polls):
        ts = start + 60.0 * step
        for device in config.devices:
            if isinstance(device, ModbusDeviceConfig):
                records += modbus_readings(device, ts, step)
            elif isinstance(device, LorawanDeviceConfig):
                records += lorawan_readings(device, ts, step)
            elif isinstance(device, SimulatedDeviceConfig):
                records += simulated_readings(device, ts, step)
    return [StoredRecord(first_seq + n, record, False) for n, record in enumerate(records)]
