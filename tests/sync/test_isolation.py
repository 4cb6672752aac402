"""The upstream pump against a real Mosquitto: a record the contract's encoder cannot encode is found, set aside and
announced, and the records around it go up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_agent.clock import SystemClock
from edge_agent.config.load import load_config
from edge_agent.config.site import SiteConfig
from edge_agent.reading import Reading
from edge_agent.store.store import Store
from edge_agent.store.worker import StoreWorker
from edge_agent.sync.payloads import Batch
from edge_agent.sync.uplink import UplinkSync
from tests.support.broker import Broker
from tests.support.mqtt import Capture
from tests.support.site import write_site

Encoder = Callable[[Batch, list[Any]], bytes]


def pump(config: SiteConfig, capture: Capture, points: list[str], encoder: Encoder,
         expected: set[str]) -> tuple[list[int], list[dict[str, Any]]]:
    """Readings of ``points`` stored, then pumped by a real uplink through ``encoder`` until an event and every
    point of ``expected`` reached the broker: the readings' seqs and the events received."""
    async def scenario() -> tuple[list[int], list[dict[str, Any]]]:
        worker = StoreWorker(Store.open(config.store))
        now = time.time()
        seqs = await worker.call(worker.store.append, [Reading("m", point, 1.0, now) for point in points])
        uplink = UplinkSync(config, worker, SystemClock(assume_synced=True), dict)
        uplink.batch_encoder = encoder
        await uplink.start()
        try:
            uplink.notify_committed(seqs[-1])
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                events = [r for m in capture.snapshot("/events") for r in json.loads(m.payload)["records"]]
                sent = {p for m in capture.snapshot("/readings") for p in json.loads(m.payload)["points"]}
                if events and expected <= sent:
                    return seqs, events
                await asyncio.sleep(0.1)
            raise AssertionError(f"not delivered: {len(capture.snapshot())} messages")
        finally:
            await uplink.stop(grace=0.2)
            await asyncio.to_thread(worker.close)

    try:
        return asyncio.run(scenario())
    finally:
        capture.close()


def test_a_record_the_batch_encoder_fails_on_is_set_aside_and_the_rest_goes_up(tmp_path: Path,
                                                                                 broker: Broker) -> None:
    """The encoder here stands in for the NGSI-LD one meeting a value it cannot convert: it fails on one record;
    the pump must find that record, set it aside with a record_set_aside event, and send the others."""
    config = load_config(write_site(tmp_path, broker_port=broker.port, devices="")).config
    capture = Capture(broker.port, "fute/gw-test/#")

    def encoder(batch: Batch, records: list[Any]) -> bytes:
        if any(r.record.point == "poison" for r in records):
            raise OverflowError("int too large to convert to float")
        return json.dumps({"seqs": batch.seqs, "points": [r.record.point for r in records]}).encode()

    seqs, events = pump(config, capture, ["a", "b", "poison", "c", "d"], encoder, {"a", "b", "c", "d"})
    (notice,) = [e for e in events if e["event"] == "record_set_aside"]
    assert notice["data"]["seq"] == seqs[2]
    assert "OverflowError" in notice["data"]["reason"]
    sent = [p for m in capture.snapshot("/readings") for p in json.loads(m.payload)["points"]]
    assert "poison" not in sent


def test_a_batch_the_contract_encodes_larger_than_the_bound_is_cut_until_it_fits(tmp_path: Path,
                                                                                 broker: Broker) -> None:
    """The native batch is sized to ``batch_max_bytes``; the contract's encoding (NGSI-LD entities) can be several
    times larger, and a broker drops an oversized message after acknowledging it. The encoder here stands in for
    that expansion (about 300 bytes a reading): every message must fit the bound, every reading must go up, and a
    reading too large on its own once encoded is set aside and announced."""
    bound = 2048
    config = load_config(write_site(tmp_path, broker_port=broker.port, devices="",
                                    sync=f"batch_max_bytes = {bound}")).config
    capture = Capture(broker.port, "fute/gw-test/#")

    def encoder(batch: Batch, records: list[Any]) -> bytes:
        size = 5000 if any(r.record.point == "huge" for r in records) else 300
        return json.dumps({"seqs": batch.seqs, "points": [r.record.point for r in records],
                           "entities": ["x" * size for _ in records]}).encode()

    points = [f"p{index}" for index in range(120)]
    points.insert(60, "huge")

    _, events = pump(config, capture, points, encoder, set(points) - {"huge"})
    messages = capture.snapshot("/readings")
    assert max(len(m.payload) for m in messages) <= bound
    sent = [p for m in messages for p in json.loads(m.payload)["points"]]
    assert "huge" not in sent and len(sent) == len(set(sent)) == len(points) - 1, "each reading once"
    (notice,) = [e for e in events if e["event"] == "record_set_aside"]
    assert "once encoded" in notice["data"]["reason"]
