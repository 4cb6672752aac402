"""Scenario 2, stress: the commune pipeline pushed until it saturates; where the time goes (cProfile)."""

from __future__ import annotations

import io
import pstats
import time
from dataclasses import replace
from pathlib import Path

from bench.commune import COMMUNE
from bench.pipeline import TCP_PROFILES, Load, Pipeline
from bench.procs import RESULTS, thread_cpu
from bench.scenario import Result
from edge_agent.modbus.profile import load_profile

INTERVAL = 0.5
LORA_RATE = 50.0


def _load(devices: int) -> Load:
    return replace(COMMUNE, tcp_devices=devices, tcp_interval=INTERVAL, rtu_interval=INTERVAL, rtu_paced=False,
                   lora_rate=LORA_RATE)


def _asked(load: Load) -> float:
    """Modbus readings/s asked (points of every poll); LoRaWAN adds its uplinks' readings on top."""
    tcp = sum(len(load_profile(TCP_PROFILES[i % 2]).points) for i in range(load.tcp_devices)) / load.tcp_interval
    return tcp + load.rtu_units * len(load_profile("eastron_sdm120").points) / load.rtu_interval


def run(mode: str) -> Result:
    quick = mode != "full"
    levels = {"tiny": [4], "quick": [400, 800]}.get(mode, [100, 200, 400, 600, 800])
    seconds = {"tiny": 3.0, "quick": 12.0}.get(mode, 60.0)
    result = Result("2 stress", f"as scenario 1 with {', '.join(map(str, levels))} Modbus TCP devices, every "
                    f"device polled every {INTERVAL:g} s, RTU unpaced, {LORA_RATE:g} LoRaWAN uplinks/s",
                    "one core: the agent's event loop is a single thread (Modbus clients, MQTT, encoding); "
                    "sustained = the highest delivered rate at which live readings still arrive within 2 s (p50)")
    best = 0.0
    for devices in levels:
        with Pipeline(_load(devices)) as pipeline:
            main0 = thread_cpu(pipeline.agent_pid)
            got = pipeline.measure(seconds)
            main_share = (thread_cpu(pipeline.agent_pid)[0] - main0[0]) / got["seconds measured"]
        tag = f"@{devices} dev"
        result.figures[f"Modbus readings/s asked {tag}"] = round(_asked(_load(devices)), 1)
        for key in ("readings/s delivered", "agent CPU % of one core", "latency p50 ms", "latency p99 ms",
                    "tcp-sim CPU % of one core"):
            result.figures[f"{key} {tag}"] = got[key]
        result.figures[f"event-loop thread CPU % {tag}"] = round(100 * main_share, 1)
        if got["latency p50 ms"] < 2000:  # NaN (no live reading arrived) compares False: not keeping up
            best = max(best, got["readings/s delivered"])
    result.figures["readings/s sustained (max)"] = best
    result.notes += _profile(levels[-1], seconds if quick else 30.0)
    return result


def _profile(devices: int, seconds: float) -> list[str]:
    """The agent under cProfile at the highest push (the event-loop thread only: cProfile sees one thread)."""
    out = RESULTS / f"stress-{int(time.time())}.prof"
    with Pipeline(_load(devices), profile_to=out) as pipeline:
        pipeline.measure(seconds)
    if not out.exists():
        return ["profile: the agent wrote no profile"]
    return [f"profile (cProfile, event-loop thread, by own time), saved in {out}:", *_top(out)]


def _top(path: Path, count: int = 12) -> list[str]:
    stream = io.StringIO()
    stats = pstats.Stats(str(path), stream=stream)
    stats.sort_stats("tottime").print_stats(count)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return ["  " + line.strip() for line in lines[start:start + count + 1]]
