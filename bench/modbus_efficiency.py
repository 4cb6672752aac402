"""Scenario 4, Modbus efficiency: requests per poll versus one request per point; RTU polls/s versus the wire.

The RTU simulator is paced (bench/sim.py ``--pace-baud``): it answers each request only after the time that
request and its reply would hold an RS-485 line at that baud rate, since a socat pty pair moves bytes at memory
speed. The theoretical limit is the same frame-time model with an instantly answering device: 1 / (wire time of
one poll of every unit), polls counted per unit.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

from bench.modbus_bench import CountingSink
from bench.procs import Children, run_folder, socat_pair
from bench.scenario import Result
from bench.sim import transaction_seconds
from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.modbus.modbus_service import ModbusService, modbus_devices
from edge_agent.modbus.plan import build_plan
from edge_agent.modbus.profile import BIT_TABLES, available_profiles, load_profile
from edge_agent.services import ServiceContext

RTU_PROFILE = "eastron_sdm120"
UNITS = 8


def requests_per_poll() -> dict[str, float]:
    """For each shipped profile: read requests per poll with merged reads, and with one request per point."""
    out: dict[str, float] = {}
    for name in available_profiles():
        profile = load_profile(name)
        out[f"{name}: requests per poll (merged)"] = float(len(build_plan(profile)))
        out[f"{name}: requests per poll (one per point)"] = float(len(profile.points))
    return out


def wire_limit(baud: int) -> float:
    """Polls/s an RS-485 line at ``baud`` allows for this profile's plan, devices answering instantly."""
    plan = build_plan(load_profile(RTU_PROFILE))
    per_poll = sum(transaction_seconds(block.count, baud, bits=block.table in BIT_TABLES) for block in plan)
    return 1 / per_poll


async def _poll_rtu(tty: str, baud: int, seconds: float) -> float:
    config = SiteConfig.model_validate({
        "gateway_id": "bench", "site": {"commune": "Esternay", "latitude": 48.73, "longitude": 3.56},
        "modbus": {"buses": [{"name": "rs485", "port": tty, "baudrate": baud, "parity": "N", "adapter_latency": 0}]},
        "devices": [{"driver": "modbus", "name": f"rtu-{u}", "profile": RTU_PROFILE, "bus": "rs485", "unit": u,
                     "poll_interval": 0.01} for u in range(1, UNITS + 1)],
    })
    sink = CountingSink()
    context = ServiceContext(config=config, sink=sink, clock=SystemClock(assume_synced=True))
    service = ModbusService.load(context, config.modbus, modbus_devices(context))
    await service.start()
    await asyncio.sleep(2.0)
    # Counted in readings: on a serial line each block's readings are handed over as soon as they are decoded, so
    # one poll is several submissions; a whole poll is every point of the profile.
    points = len(load_profile(RTU_PROFILE).points)
    readings0, t0 = sink.readings, time.monotonic()
    await asyncio.sleep(seconds)
    polls = (sink.readings - readings0) / points / (time.monotonic() - t0)
    await service.stop()
    return polls


def _rtu(baud: int, seconds: float) -> float:
    folder = run_folder("rtu-")
    children = Children(folder)
    try:
        agent_tty, sim_tty = socat_pair(folder, children)
        children.python("rtu-sim", "-m", "bench.sim", "rtu", "--tty", sim_tty, "--count", str(UNITS),
                        "--profile", RTU_PROFILE, "--pace-baud", str(baud))
        time.sleep(1.5)
        return asyncio.run(_poll_rtu(agent_tty, baud, seconds))
    finally:
        children.close()
        shutil.rmtree(folder, ignore_errors=True)


def run(mode: str) -> Result:
    seconds = {"tiny": 2.0, "quick": 8.0}.get(mode, 60.0)
    plan = build_plan(load_profile(RTU_PROFILE))
    result = Result("4 Modbus efficiency", f"requests per poll of every shipped profile; an RTU bus of {UNITS} "
                    f"{RTU_PROFILE} units ({len(plan)} reads per poll each) polled back to back, simulator paced "
                    "at 9600 and 19200 baud (8E1: 11-bit characters)",
                    "the RS-485 wire: frame time of requests and replies plus 3.5 characters of silence each")
    result.figures = dict[str, Any](requests_per_poll())
    for baud in (9600, 19200):
        measured, limit = _rtu(baud, seconds), wire_limit(baud)
        result.figures[f"RTU {baud} baud: polls/s measured"] = round(measured, 2)
        result.figures[f"RTU {baud} baud: polls/s wire limit"] = round(limit, 2)
        result.figures[f"RTU {baud} baud: share of the limit"] = f"{measured / limit:.0%}"
    result.notes.append("polls/s are device polls (every read of one unit's plan) across the whole bus")
    return result
