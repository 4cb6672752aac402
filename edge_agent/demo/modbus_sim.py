"""Simulated Modbus TCP devices for the demo site: one pymodbus server per host:port of the demo's devices."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from edge_agent.config.site import SiteConfig
from edge_agent.modbus.config import ModbusDeviceConfig
from edge_agent.modbus.simulator import make_units, start_tcp

_LOCAL = {"127.0.0.1", "localhost"}


async def start_demo_devices(config: SiteConfig) -> list[Any]:
    """Serve every Modbus TCP device of the config that points at this machine; returns the servers."""
    by_port: dict[int, dict[int, str]] = defaultdict(dict)
    for device in config.devices:
        if isinstance(device, ModbusDeviceConfig) and device.host in _LOCAL:
            by_port[device.port][device.unit] = device.profile
    servers = []
    for port, units in by_port.items():
        try:
            servers.append(await start_tcp(make_units(units), port))
        except OSError as exc:
            print(f"the simulated Modbus devices on port {port} could not start ({exc}): they will show offline")
    return servers


async def stop_demo_devices(servers: list[Any]) -> None:
    for server in servers:
        await server.shutdown()
