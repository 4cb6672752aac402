"""Scenario 1, commune load: a realistic commune on one gateway, at the real rates, the agent's own costs."""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.common import io_written
from bench.pipeline import Load, Pipeline, row_bytes
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
# The store set for an SD card (docs/deployment.md, "Prepare the gateway"): a rollback journal, which writes each
# new page once, and a commit every 10 s, over which the pages a commit rewrites are shared by more readings.
SD_CARD = (("journal", "rollback"), ("commit_interval", 10.0))
SD_PREFIX = "SD-card store: "


def run(mode: str) -> Result:
    load = TINY if mode == "tiny" else COMMUNE
    seconds = {"tiny": 3.0, "quick": 40.0}.get(mode, 600.0)
    result = Result(
        "1 commune load", load.describe(),
        "a Pi-class gateway (4 ARM cores, 1 GB) should stay under 10 % of one core and 100 MB resident; "
        "SD card wear: bytes written per hour",
    )
    alarm_seconds = {"tiny": 4.5, "quick": 30.0}.get(mode, 120.0)
    with Pipeline(load) as pipeline:
        # The first readings arrive within one poll interval: start measuring after a full cycle.
        result.figures = pipeline.measure(seconds, warmup=load.tcp_interval)
        result.figures.update(pipeline.measure_alarms(alarm_seconds))
    # the same commune, its store set for an SD card (tiny: the rollback journal, commits as often as the window needs)
    sd_load = replace(load, store=(("journal", "rollback"), ("commit_interval", 1.0)) if mode == "tiny" else SD_CARD)
    with Pipeline(sd_load) as pipeline:
        sd = pipeline.measure({"tiny": 4.0, "quick": 60.0}.get(mode, seconds), warmup=load.tcp_interval)
        sd.update(pipeline.measure_alarms(alarm_seconds))
    result.figures.update({f"{SD_PREFIX}{key}": value for key, value in sd.items()})
    result.figures.update(store_write_cost())
    result.figures.update(commune_commit_pattern())
    result.notes.append(
        f"real rates, no time compression: measured for {seconds:g} s after one full poll cycle; bytes per hour "
        "extrapolated from that window (write_bytes of /proc/<agent>/io less the agent's own log file)")
    result.notes.append(f"'{SD_PREFIX}...': the same commune again, its [store] set for an SD card "
                        "(journal = \"rollback\", commit_interval = 10), in a window of its own after the first")
    result.notes.append("latency: arrival at the subscriber minus the reading's timestamp (taken by the agent "
                        "when the Modbus answer is decoded; for LoRaWAN, the event's time set by the stand-in)")
    result.notes.append("alarms: a window of their own after the main one (the load runs on), a meter polled every "
                        "second crossing a threshold rule every 1.5 s; 'from the reading': the alarm's arrival "
                        "minus its reading's time (the rules judge a reading as it is queued, and the alarm is "
                        "committed with it); 'after its reading's': minus its reading's arrival (the events lane "
                        "goes first, so it may be below zero)")
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


def commune_commit_pattern(cycles: int = 12, burst: int = 827, trickle: int = 27) -> dict[str, float]:
    """Bytes written per reading by a commune's commits, in this process: every 10 s one commit of the in-phase
    TCP burst (``burst`` readings) and nine of the trickle (the RTU bus, the 1 s meter, LoRaWAN: ``trickle``
    each), acknowledgements riding in every fifth commit (``ACK_EVERY``). Counted once for the commits alone (the
    WAL: what a 40 s window of the commune scenario sees) and once with the checkpoint that copies the pages into
    the database file (the WAL's second write, every ``WAL_CHECKPOINT_BYTES``); beside the row's own size."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="store-pattern-", dir=RESULTS) as tmp:
        path = Path(tmp) / "store.db"
        store = Store.open(StoreConfig(path=path, max_bytes=2_000_000_000))
        now = time.time()
        def readings(count: int) -> list[Reading]:
            return [Reading(f"tcp-{k % 40:03d}", f"point_{k % 14}", 230.0 + k * 0.37, now, "V") for k in range(count)]
        sent: list[int] = list(store.append(readings(burst)))  # the schema and first pages exist before counting
        before = io_written() or 0
        appended = 0
        for _ in range(cycles):
            for second in range(10):
                acked, sent = (sent, []) if second % 5 == 0 else ([], sent)
                sent += store.append(readings(burst + trickle if second == 0 else trickle), acked)
                appended += burst + trickle if second == 0 else trickle
        committed = io_written() or 0
        row = row_bytes(path) or float("nan")
        store.close()  # checkpoints the WAL into the file
        closed = io_written() or 0
    commits, total = (committed - before) / appended, (closed - before) / appended
    return {"in-process, a commune's commits: bytes per reading": round(commits, 1),
            "in-process, a commune's commits with the checkpoint: bytes per reading": round(total, 1),
            "in-process, row size": row,
            "in-process, commits / row": round(commits / row, 2),
            "in-process, commits with the checkpoint / row": round(total / row, 2)}
