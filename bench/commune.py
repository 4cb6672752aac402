"""Scenario 1, commune load: a realistic commune on one gateway, at the real rates, the agent's own costs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import io_written
from bench.pipeline import Load, Pipeline
from bench.procs import RESULTS
from bench.scenario import Result
from edge_agent.config.store import StoreConfig
from edge_agent.reading import Reading
from edge_agent.store.store import Store

# 40 TCP cabinets and meters and 8 RTU meters every 10 s, 500 LoRaWAN nodes every 10 min, and a meter polled every
# second whose voltage crosses an alarm threshold every 1.5 s in the alarm window (bench/alarm_latency.py)
COMMUNE = Load(alarm_every=1.5)
TINY = Load(tcp_devices=2, tcp_interval=0.5, rtu_units=1, rtu_interval=0.5, rtu_paced=False, lora_nodes=3,
            lora_rate=2.0, alarm_every=1.5)  # the harness's own test: seconds, not minutes


def run(mode: str) -> Result:
    load = TINY if mode == "tiny" else COMMUNE
    seconds = {"tiny": 3.0, "quick": 40.0}.get(mode, 600.0)
    result = Result(
        "1 commune load", load.describe(),
        "a Pi-class gateway (4 ARM cores, 1 GB) should stay under 10 % of one core and 100 MB resident; "
        "SD card wear: bytes written per hour",
    )
    with Pipeline(load) as pipeline:
        # The first readings arrive within one poll interval: start measuring after a full cycle.
        result.figures = pipeline.measure(seconds, warmup=load.tcp_interval)
        result.figures.update(pipeline.measure_alarms({"tiny": 4.5, "quick": 30.0}.get(mode, 120.0)))
    result.figures.update(store_write_cost())
    result.notes.append(
        f"real rates, no time compression: measured for {seconds:g} s after one full poll cycle; bytes per hour "
        "extrapolated from that window (write_bytes of /proc/<agent>/io less the agent's own log file)")
    result.notes.append("latency: arrival at the subscriber minus the reading's timestamp (taken by the agent "
                        "when the Modbus answer is decoded; for LoRaWAN, the event's time set by the stand-in)")
    result.notes.append("alarms: a window of their own after the main one (the load runs on), a meter polled every "
                        "second crossing a threshold rule every 1.5 s; 'from the reading' includes the reading's "
                        "wait for its group commit, 'after the reading's commit' is what the alarm itself adds")
    return result


def store_write_cost(rows: int = 50, transactions: int = 200) -> dict[str, float]:
    """Where the SQLite bytes go: bytes written per reading by a group commit and by its acknowledgement, for
    transactions of ``rows`` readings (a commune's group commit), in this process (/proc/self/io)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="store-cost-", dir=RESULTS) as tmp:
        store = Store.open(StoreConfig(path=Path(tmp) / "store.db", max_bytes=2_000_000_000))
        now = time.time()
        batch = [Reading(f"meter-{k % 40}", f"point_{k % 12}", 230.0 + k, now, "V") for k in range(rows)]
        store.append(batch)  # the schema and first pages exist before counting
        before = io_written() or 0
        groups = [store.append(batch) for _ in range(transactions)]
        appended = io_written() or 0
        for seqs in groups:
            store.ack(seqs)
        acked = io_written() or 0
    per_row = transactions * rows
    return {f"SQLite bytes per reading, group commit of {rows}": round((appended - before) / per_row, 1),
            f"SQLite bytes per reading, ack of {rows}": round((acked - appended) / per_row, 1)}
