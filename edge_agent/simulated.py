"""Simulated devices: points that move like real ones, for the demo site and load tests."""

from __future__ import annotations

import asyncio
import math
import random

from edge_agent.cancellation import cancel_and_wait
from edge_agent.config.devices import SimulatedDeviceConfig, SimulatedPoint
from edge_agent.logs import get_logger
from edge_agent.reading import Reading
from edge_agent.services import ServiceContext

log = get_logger(__name__)


def point_value(point: SimulatedPoint, t: float, tick: int, rng: random.Random) -> float:
    """The value of a simulated point at time ``t`` (pure but for the noise source)."""
    if point.kind == "counter":
        return point.base + tick * point.amplitude
    if point.kind == "random":
        return point.base + rng.uniform(-point.amplitude, point.amplitude)
    wave = math.sin(2 * math.pi * t / point.period)
    return round(point.base + point.amplitude * wave + rng.gauss(0, point.amplitude * 0.02), 3)


class SimulatedService:
    """One task per simulated device, each submitting its points every poll interval."""

    name = "simulated"

    def __init__(self, context: ServiceContext, devices: list[SimulatedDeviceConfig]) -> None:
        self._context = context
        self._devices = devices
        self._tasks: list[asyncio.Task[None]] = []
        self._cycles: dict[str, int] = {}

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(device), name=f"sim-{device.name}") for device in self._devices]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    def health(self) -> dict[str, object]:
        return {"devices": len(self._devices), "cycles": dict(self._cycles)}

    async def _run(self, device: SimulatedDeviceConfig) -> None:
        rng = random.Random(device.name)
        clock = self._context.clock
        tick = 0
        while True:
            now = clock.now()
            synced = clock.synced()
            readings = [
                Reading(device=device.name, point=p.name, value=point_value(p, now, tick, rng), ts=now, unit=p.unit,
                        clock_synced=synced)
                for p in device.points
            ]
            try:
                await self._context.sink.submit(readings)
            except Exception as exc:
                log.error("simulated_submit_failed", device=device.name, error=str(exc))
            tick += 1
            self._cycles[device.name] = tick
            await asyncio.sleep(device.poll_interval)


def build_service(context: ServiceContext) -> SimulatedService | None:
    devices = [d for d in context.config.devices if isinstance(d, SimulatedDeviceConfig)]
    return SimulatedService(context, devices) if devices else None
