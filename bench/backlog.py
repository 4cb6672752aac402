"""Scenario 3, backlog drain: a week offline, then back online while live data keeps coming.

Reuses drain_bench's backlog filler. The real Committer and UplinkSync (lane planner, QoS 1 batches, PUBACK acks)
drain a real SQLite outbox to Mosquitto while a live source submits fresh readings through the committer; the
subscriber times the live readings (arrival minus timestamp) during the drain.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.common import Mosquitto, cpu_seconds, rss_mb
from bench.drain_bench import drain_site, fill
from bench.hypervisor import Hypervisor, percentile
from bench.scenario import Result
from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.reading import Reading
from edge_agent.store.group_commit import Committer
from edge_agent.store.rows import StoredRecord
from edge_agent.store.store import Store
from edge_agent.store.worker import StoreWorker
from edge_agent.sync.lanes import Lane
from edge_agent.sync.payloads import build_batch
from edge_agent.sync.uplink import UplinkSync

LIVE_RATE = 200  # live readings/s during the drain, in groups of 20 every 0.1 s


async def _live(committer: Committer, stop: asyncio.Event) -> int:
    """Submit on a fixed cadence, as devices do, without waiting for one group commit before the next submission
    (awaiting each commit would cap the source at 20 readings per commit interval)."""
    pending: set[asyncio.Future[list[int]]] = set()
    sent = 0
    tick = 20 / LIVE_RATE
    next_at = time.monotonic()
    while not stop.is_set():
        now = time.time()
        task = asyncio.ensure_future(committer.submit([Reading(f"live-{i}", "voltage", 230.0, now, "V")
                                                     for i in range(20)]))
        pending.add(task)
        task.add_done_callback(pending.discard)
        sent += 20
        next_at += tick
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*pending)
    return sent


async def _drain(config: SiteConfig, store: Store, backlog: int, hypervisor: Hypervisor) -> dict[str, float]:
    worker = StoreWorker(store)
    committer = Committer(worker, interval=config.store.commit_interval, max_records=config.store.commit_max_records)
    uplink = UplinkSync(config, worker, SystemClock(assume_synced=True), lambda: {})
    committer.add_listener(lambda records, seqs: uplink.notify_committed(seqs[-1]) if seqs else None)
    await committer.start()
    stop = asyncio.Event()
    cpu0, began = cpu_seconds(), time.perf_counter()
    await uplink.start()
    hypervisor.reset()  # live readings are those taken from now on; the backlog's are a week old
    live = asyncio.create_task(_live(committer, stop))
    while uplink.counters.records_acked < backlog:
        await asyncio.sleep(0.25)
    elapsed, cpu = time.perf_counter() - began, cpu_seconds() - cpu0
    stop.set()
    live_sent = await live
    _, latencies = hypervisor.snapshot()
    await committer.stop()
    await uplink.stop()
    worker.close()
    return {"backlog readings/s delivered": round(backlog / elapsed, 1), "drain seconds": round(elapsed, 1),
            "live readings sent during the drain": float(live_sent),
            "live latency p50 ms": round(1000 * percentile(latencies, 0.5), 1),
            "live latency p99 ms": round(1000 * percentile(latencies, 0.99), 1),
            "live latency max ms": round(1000 * max(latencies, default=float("nan")), 1),
            "process CPU us per reading": round(1e6 * cpu / (backlog + live_sent), 1), "process RSS MB": rss_mb()}


def encode_cost(rounds: int = 100) -> float:
    """Microseconds per reading to encode upstream batches of 500 readings (20 readings share a timestamp)."""
    now = time.time()
    records = [StoredRecord(i, Reading(f"meter-{i % 40}", f"point_{i % 12}", 230.0 + i % 7, now + i // 20, "V"),
                            False) for i in range(500)]
    began = time.perf_counter()
    for _ in range(rounds):
        build_batch("bench-gw", Lane.BACKLOG, records, 128_000, now)
    return (time.perf_counter() - began) / rounds / len(records) * 1e6


def run(mode: str) -> Result:
    backlog = {"tiny": 2_000, "quick": 100_000}.get(mode, 1_000_000)
    result = Result("3 backlog drain", f"{backlog:,} readings waiting (a week offline, scaled), live source "
                    f"{LIVE_RATE} readings/s meanwhile; QoS 1 to Mosquitto, subscriber attached",
                    "upstream.sync.drain_rate (5,000 records/s by default) while live data flows; "
                    "without live data, encoding and broker round trips (see drain_bench)")
    broker = Mosquitto.start()
    try:
        with tempfile.TemporaryDirectory(prefix="backlog-") as tmp:
            config = drain_site(broker.port, Path(tmp) / "store.db")
            store = Store.open(config.store)
            fill(store, backlog)
            hypervisor = Hypervisor(broker.port, "fute/bench-gw/readings")
            try:
                result.figures = asyncio.run(_drain(config, store, backlog, hypervisor))
                result.figures["batch encoding us per reading"] = round(encode_cost(), 2)
            finally:
                hypervisor.close()
    finally:
        broker.stop()
    result.notes.append("one process: the subscriber's parsing shares the CPU figure; the live source's "
                        "readings take the live lane while the backlog drains at most drain_rate records/s")
    return result
