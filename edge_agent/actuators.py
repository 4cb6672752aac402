"""The rules' ActionPort on top of the drivers: a level goes to a Modbus point or a LoRaWAN downlink."""

from __future__ import annotations

import asyncio

from edge_agent.config.devices import DeviceConfig
from edge_agent.errors import EdgeAgentError
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.lorawan.lorawan_service import LorawanService
from edge_agent.modbus.config import ModbusDeviceConfig
from edge_agent.modbus.modbus_service import ModbusService
from edge_agent.rules.actions import ActionOutcome

_WRITE_TIMEOUT = 20.0


class DriverActions:
    """Routes ``set_level`` to the driver of the device. Idempotent: writing the current level is harmless."""

    def __init__(self, devices: list[DeviceConfig], modbus: ModbusService | None,
                 lorawan: LorawanService | None) -> None:
        self._kinds = {device.name: device for device in devices}
        self.modbus = modbus
        self.lorawan = lorawan

    async def set_level(self, device: str, point: str | None, level: int) -> ActionOutcome:
        config = self._kinds.get(device)
        try:
            if isinstance(config, ModbusDeviceConfig) and self.modbus is not None:
                return await asyncio.wait_for(self._modbus(device, point, level), _WRITE_TIMEOUT)
            if isinstance(config, LorawanDeviceConfig) and self.lorawan is not None:
                return await asyncio.wait_for(self._lorawan(device, level), _WRITE_TIMEOUT)
        except (EdgeAgentError, TimeoutError, ValueError) as exc:
            return ActionOutcome(ok=False, error=str(exc) or type(exc).__name__)
        return ActionOutcome(ok=False, error=f"device '{device}' is not driven by a Modbus or LoRaWAN driver")

    async def _modbus(self, device: str, point: str | None, level: int) -> ActionOutcome:
        assert self.modbus is not None
        if point is None:
            return ActionOutcome(ok=False, error=f"group member '{device}' needs a point to write")
        switch = self._contactor(device, point)
        if switch is not None and level > 0:  # close the contactor, then dim
            closed = await self.modbus.write_point(device, switch, True)
            if not closed.ok:
                return ActionOutcome(ok=False, error=f"{switch}: {closed.reason}")
        result = await self.modbus.write_point(device, point, level)
        if switch is not None and level == 0 and result.ok:  # dimmed to zero, then open the contactor
            opened = await self.modbus.write_point(device, switch, False)
            if not opened.ok:
                return ActionOutcome(ok=False, error=f"{switch}: {opened.reason}")
        read_back = result.read_back
        return ActionOutcome(
            ok=result.ok,
            read_back=int(read_back) if isinstance(read_back, int | float) else None,
            error=result.reason or None,
        )

    def _contactor(self, device: str, point: str) -> str | None:
        """A cabinet circuit's on/off point beside its level point (``circuit1_level`` -> ``circuit1_on``)."""
        assert self.modbus is not None
        if not point.endswith("_level"):
            return None
        name = point.removesuffix("_level") + "_on"
        try:
            spec = self.modbus.poller(device).profile.point(name)
        except KeyError:
            return None
        return name if spec.writable else None

    async def _lorawan(self, device: str, level: int) -> ActionOutcome:
        assert self.lorawan is not None
        ticket = await self.lorawan.send_downlink(device, "set_level", level)
        return ActionOutcome(ok=True, error=None if ticket.id else "downlink not enqueued")
