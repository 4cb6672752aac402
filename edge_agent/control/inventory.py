"""The site's devices and points as the config and the drivers' profiles describe them. No I/O but profiles."""

from __future__ import annotations

from typing import Any

from edge_agent.catalog import catalog_for
from edge_agent.config.devices import SimulatedDeviceConfig
from edge_agent.config.site import SiteConfig
from edge_agent.errors import ConfigError
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.modbus.config import ModbusDeviceConfig

AnyDevice = SimulatedDeviceConfig | ModbusDeviceConfig | LorawanDeviceConfig


def device_row(device: AnyDevice) -> dict[str, Any]:
    """Name, driver, model and where the device is reached."""
    if isinstance(device, ModbusDeviceConfig):
        where = f"bus {device.bus}" if device.bus is not None else f"{device.host}:{device.port}"
        return {"name": device.name, "driver": "modbus", "model": device.profile,
                "address": f"{where} unit {device.unit}", "poll_interval": device.poll_interval}
    if isinstance(device, LorawanDeviceConfig):
        return {"name": device.name, "driver": "lorawan", "model": device.codec,
                "address": f"devEUI {device.dev_eui}", "poll_interval": device.uplink_interval}
    return {"name": device.name, "driver": "simulated", "model": device.model, "address": "-",
            "poll_interval": device.poll_interval}


def devices(config: SiteConfig) -> list[dict[str, Any]]:
    return [device_row(device) for device in config.devices]


def points(config: SiteConfig, name: str) -> list[dict[str, Any]]:
    """The points of one device; KeyError (in plain words) if there is no such device."""
    try:
        device = config.device(name)
    except KeyError:
        known = ", ".join(d.name for d in config.devices) or "(none)"
        raise KeyError(f"no device named '{name}' in the config; devices: {known}") from None
    if isinstance(device, ModbusDeviceConfig):
        try:
            profile = catalog_for(tuple(config.drivers.paths)).profile(device.profile)
        except ConfigError:
            return []  # an unusable profile: the device is listed with its problem, it has no points to show
        return [{"device": name, "point": p.name, "unit": p.unit, "where": f"{p.table} {p.address}",
                 "type": p.type or ("bool" if p.table in ("coil", "discrete") else "u16"),
                 "writable": p.writable, "description": p.description} for p in profile.points]
    if isinstance(device, SimulatedDeviceConfig):
        return [{"device": name, "point": p.name, "unit": p.unit, "where": f"simulated {p.kind}", "type": "float",
                 "writable": False, "description": ""} for p in device.points]
    return []  # LoRaWAN points are what the codec decodes: listed from the values heard


def all_points(config: SiteConfig, device: str | None = None) -> list[dict[str, Any]]:
    names = [device] if device is not None else [d.name for d in config.devices]
    return [row for name in names for row in points(config, name)]
