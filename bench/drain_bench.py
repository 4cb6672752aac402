"""Backlog drain: a gateway back online with N readings waiting; readings/s delivered to Mosquitto with QoS 1.

The real UplinkSync (lane planner, batches, PUBACK-driven acks in the real store) drains a real SQLite outbox to a real
Mosquitto on loopback. A subscriber is attached, as the hypervisor would be. The drain rate limit only applies
while live data flows, so this measures the raw drain. Reference: the store commits ~200,000 readings/s (see
store_bench), so the drain is bounded by encoding and the broker, not the disk.

    python -m bench.drain_bench [--readings 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import Mosquitto, cpu_seconds, report, rss_mb
from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.reading import Reading
from edge_agent.store.store import Store
from edge_agent.store.worker import StoreWorker
from edge_agent.sync.uplink import UplinkSync


def fill(store: Store, readings: int) -> None:
    now = time.time() - 7 * 86_400
    chunk = 10_000
    for start in range(0, readings, chunk):
        store.append([Reading(f"meter-{i % 40}", f"point_{i % 12}", 230.0 + i % 7, now + i * 0.6, "V")
                      for i in range(start, min(start + chunk, readings))])


def drain_site(broker_port: int, store: Path) -> SiteConfig:
    """The gateway of the drain scenarios: a store large enough for a week offline, the bench broker upstream."""
    return SiteConfig.model_validate({
        "gateway_id": "bench-gw",
        "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603},
        "upstream": {"host": "127.0.0.1", "port": broker_port},
        "store": {"path": str(store), "max_bytes": "2 GB"},
    })


class Counter:
    def __init__(self, port: int, topic: str) -> None:
        self.messages = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages += 1
            self.bytes += len(msg.payload)


async def drain(config: SiteConfig, store: Store, readings: int) -> dict[str, float]:
    worker = StoreWorker(store)
    uplink = UplinkSync(config, worker, SystemClock(assume_synced=True), lambda: {})
    cpu0 = cpu_seconds()
    began = time.perf_counter()
    await uplink.start()
    while True:
        await asyncio.sleep(0.25)
        if uplink.counters.records_acked >= readings:
            break
    elapsed = time.perf_counter() - began
    cpu = cpu_seconds() - cpu0
    unflushed = (await worker.call(store.stats)).pending_readings
    await uplink.stop()
    pending = (await worker.call(store.stats)).pending_readings
    worker.close()
    return {"readings/s delivered": readings / elapsed, "seconds": elapsed, "cpu seconds": cpu,
            "cpu us per reading": cpu / readings * 1e6,
            "acked, mark not yet written at the end": float(unflushed),  # written at most once a second
            "left in outbox after stop": float(pending), "rss MB": rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    broker = Mosquitto.start()
    try:
        with tempfile.TemporaryDirectory(prefix="drain-bench-", dir=".") as tmp:
            config = drain_site(broker.port, Path(tmp) / "store.db")
            store = Store.open(config.store)
            began = time.perf_counter()
            fill(store, args.readings)
            fill_s = time.perf_counter() - began
            counter = Counter(broker.port, "fute/bench-gw/#")
            figures = asyncio.run(drain(config, store, args.readings))
            figures["backlog filled in s"] = fill_s
            figures["bytes per reading on the wire"] = counter.bytes / max(args.readings, 1)
            figures["batches received"] = float(counter.messages)
            counter.client.loop_stop()
            report(f"drain: {args.readings:,} readings backlog to Mosquitto, QoS 1, "
                   f"batches of {config.upstream.sync.batch_max_records}", figures, args.out)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
