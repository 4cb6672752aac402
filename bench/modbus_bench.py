"""Modbus TCP polling benchmark: 200 simulated devices, the agent's Modbus service polling them.

Run ``python -m bench.modbus_bench [--devices 200] [--seconds 20] [--interval 1.0]``. The simulated
devices (pymodbus servers, one per TCP port) run in a child process, so the CPU and memory printed are
the poller's alone. Prints polls/s, registers/s, points/s, CPU, memory, and the requests issued versus
the number a naive poller (one request per point) would issue for the same polls.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.common import cpu_seconds, rss_mb
from bench.procs import free_block, wait_port
from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.logs import setup_logging
from edge_agent.modbus.modbus_service import ModbusService, modbus_devices
from edge_agent.modbus.profile import available_profiles
from edge_agent.reading import Reading, Record
from edge_agent.services import ServiceContext


class CountingSink:
    """Counts what the service hands over: batches (one per successful poll) and readings."""

    def __init__(self) -> None:
        self.batches = 0
        self.readings = 0

    async def submit(self, records: Sequence[Record]) -> list[int]:
        self.batches += 1
        self.readings += sum(1 for r in records if isinstance(r, Reading))
        return []


def _site(base: int, profiles: list[str], interval: float) -> SiteConfig:
    devices = [
        {"driver": "modbus", "name": f"dev-{i:03d}", "profile": name, "host": "127.0.0.1", "port": base + i,
         "unit": 1, "poll_interval": interval}
        for i, name in enumerate(profiles)
    ]
    return SiteConfig.model_validate({
        "gateway_id": "bench",
        "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603},
        "modbus": {"tcp_timeout": 2.0},
        "devices": devices,
    })


async def _measure(config: SiteConfig, seconds: float) -> dict[str, Any]:
    sink = CountingSink()
    context = ServiceContext(config=config, sink=sink, clock=SystemClock(assume_synced=True))
    service = ModbusService.load(context, config.modbus, modbus_devices(context))
    await service.start()
    await asyncio.sleep(2.0)  # connections made, first polls done: measure the steady state
    polls0, readings0, cpu0, t0 = sink.batches, sink.readings, cpu_seconds(), time.monotonic()
    requests0 = _requests(service)
    await asyncio.sleep(seconds)
    elapsed, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    polls, readings, requests = sink.batches - polls0, sink.readings - readings0, _requests(service) - requests0
    status = service.devices_status()
    await service.stop()
    registers_per_poll = {s["name"]: _registers(service, s["name"]) for s in status}
    mean_registers = sum(registers_per_poll.values()) / len(registers_per_poll)
    errors = sum(sum(s["errors"].values()) for s in status)
    return {"elapsed": elapsed, "cpu": cpu, "polls": polls, "readings": readings, "requests": requests,
            "registers": polls * mean_registers, "errors": errors}


def _requests(service: ModbusService) -> int:
    return service.requests_issued()


def _registers(service: ModbusService, name: str) -> int:
    return sum(block.count for block in service.poller(name).plan)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval of every device, s")
    args = parser.parse_args(argv)
    setup_logging("console", "WARNING")
    profiles = list(itertools.islice(itertools.cycle(available_profiles()), args.devices))
    base = free_block(args.devices)
    child = subprocess.Popen([sys.executable, "-m", "edge_agent.modbus.simulator", "--base-port", str(base),
                              "--count", str(args.devices)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(base + args.devices - 1)
        result = asyncio.run(_measure(_site(base, profiles, args.interval), args.seconds))
    finally:
        child.terminate()
        child.wait(timeout=10)
    _report(args, result)


def _report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    elapsed = r["elapsed"]
    naive = r["readings"]  # one request per point read
    print(f"modbus TCP bench: {args.devices} devices, poll interval {args.interval:g} s, {elapsed:.1f} s measured")
    print(f"  polls/s            {r['polls'] / elapsed:10.1f}   (ideal {args.devices / args.interval:.1f})")
    print(f"  registers/s        {r['registers'] / elapsed:10.1f}")
    print(f"  points/s           {r['readings'] / elapsed:10.1f}")
    print(f"  requests issued    {r['requests']:10d}   naive one-per-point poller: {naive}"
          f"  ({naive / max(r['requests'], 1):.1f}x more)")
    print(f"  errors             {r['errors']:10d}")
    print(f"  CPU                {r['cpu']:10.2f} s  = {100 * r['cpu'] / elapsed:.1f} % of one core,"
          f" {1e6 * r['cpu'] / max(r['polls'], 1):.0f} us per poll")
    print(f"  memory (RSS)       {rss_mb():10.1f} MB")


if __name__ == "__main__":
    main()
