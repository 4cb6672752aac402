"""The live lane sends the readings the group commit just handed it, without reading them back from the store, and
reads the store whenever memory cannot tell what lies before them: first the pure rule, then a real group commit,
a real SQLite store and a real Mosquitto."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from edge_agent.clock import SystemClock
from edge_agent.config.load import load_config
from edge_agent.config.site import SiteConfig
from edge_agent.reading import Event, Quality, Reading, Record
from edge_agent.store.group_commit import Committer
from edge_agent.store.store import Store
from edge_agent.store.worker import StoreWorker
from edge_agent.sync.recent import RecentReadings
from edge_agent.sync.uplink import UplinkSync
from tests.support.broker import Broker
from tests.support.mqtt import Capture
from tests.support.site import write_site

T0 = 1_764_460_800.0


def readings(count: int, first: int = 0, **fields: Any) -> list[Record]:
    return [Reading("meter", f"p{index}", float(index), T0 + index, **fields) for index in range(first, first + count)]


def seqs_of(taken: list[Any] | None) -> list[int]:
    assert taken is not None
    return [stored.seq for stored in taken]


# -- the rule ------------------------------------------------------------------------------------------------------


def test_memory_answers_only_from_the_first_group_it_saw() -> None:
    recent = RecentReadings()
    assert recent.take(0, 10) is None  # nothing seen: only the store knows
    recent.add(readings(3), [11, 12, 13])
    assert recent.take(5, 10) is None  # readings 6-10 may wait in the store
    assert seqs_of(recent.take(10, 10)) == [11, 12, 13]
    assert seqs_of(recent.take(12, 10)) == [13]
    assert recent.take(13, 10) == []  # nothing unsent after 13: no need to ask the store


def test_memory_keeps_order_skips_events_and_hands_out_at_most_the_limit() -> None:
    recent = RecentReadings()
    group: list[Record] = [*readings(2), Event("device_offline", T0), *readings(2, first=2)]
    recent.add(group, [1, 2, 3, 4, 5])
    recent.add(readings(2, first=4), [7, 8])  # seq 6 went elsewhere (a record set aside's notice)
    assert seqs_of(recent.take(0, 3)) == [1, 2, 4]
    taken = recent.take(4, 10)
    assert seqs_of(taken) == [5, 7, 8]
    assert taken is not None and [s.record.point for s in taken] == ["p3", "p4", "p5"]


def test_two_lanes_read_at_their_own_cursors() -> None:
    """Live data split from a short backlog: the backlog (up to 4) and the live lane (from 5) both read memory."""
    recent = RecentReadings()
    recent.add(readings(8), [1, 2, 3, 4, 5, 6, 7, 8])
    assert seqs_of(recent.take(6, 10)) == [7, 8]  # the live lane, ahead
    assert seqs_of(recent.take(0, 10, before=5)) == [1, 2, 3, 4]  # the backlog, behind it, up to its end
    assert seqs_of(recent.take(0, 2, before=5)) == [1, 2]
    recent.forget_through(4)  # the backlog is sent: what every lane passed is dropped
    assert len(recent) == 4 and recent.take(3, 10) is None


def test_an_overflowing_memory_forgets_the_oldest_and_sends_the_pump_to_the_store() -> None:
    recent = RecentReadings(capacity=4)
    recent.add(readings(6), [1, 2, 3, 4, 5, 6])
    assert recent.floor == 2
    assert recent.take(0, 10) is None and recent.take(1, 10) is None
    assert seqs_of(recent.take(2, 10)) == [3, 4, 5, 6]


def test_a_reading_the_store_would_change_is_left_to_the_store() -> None:
    """NaN is kept as NULL, a number beyond 64 bits as a float, text is cleaned: memory would send something else
    than the store holds, so from such a reading on the store answers."""
    for odd in (float("nan"), 2**70, "text"):
        recent = RecentReadings()
        recent.add([*readings(2), Reading("meter", "odd", odd, T0), *readings(2, first=2)], [1, 2, 3, 4, 5])
        assert recent.floor == 3, odd
        assert recent.take(2, 10) is None
        assert seqs_of(recent.take(3, 10)) == [4, 5]
    recent = RecentReadings()
    recent.add([*readings(1), Reading("meter", "caf\udce9", 1.0, T0), *readings(1, first=1)], [1, 2, 3])
    assert recent.floor == 2 and seqs_of(recent.take(2, 10)) == [3]  # a name the store cleans
    recent = RecentReadings()
    recent.add([*readings(2, quality=Quality.BAD), Reading("meter", "on", True, T0, None),
                Reading("meter", "temperature", 21.5, T0, "°C")], [1, 2, 3, 4])
    assert seqs_of(recent.take(0, 10)) == [1, 2, 3, 4]  # flags, qualities, no unit, a unit °C are kept as they are


def test_forgetting_hands_the_next_picks_to_the_store() -> None:
    recent = RecentReadings()
    recent.add(readings(5), [1, 2, 3, 4, 5])
    recent.forget_through(3)  # a record set aside at 3, or readings up to 3 sent
    assert recent.take(2, 10) is None and seqs_of(recent.take(3, 10)) == [4, 5]
    recent.forget()  # a rewind: everything unsent is offered again, from the store
    assert recent.take(0, 10) is None and recent.take(4, 10) is None
    assert recent.take(5, 10) == []


# -- against a real store, group commit and Mosquitto -----------------------------------------------------------


class StoreReads:
    """Counts the readings read back from the store's outbox (by the live and backlog lanes), passing them on."""

    def __init__(self, store: Store) -> None:
        self.readings = 0
        self._pending = store.pending

    def __call__(self, *, events: bool, after: int, limit: int, before: int | None = None) -> Any:
        found = self._pending(events=events, after=after, limit=limit, before=before)
        if not events:
            self.readings += len(found)
        return found


def run_pipeline(config: SiteConfig, groups: list[list[Record]], *,
                 capacity: int) -> tuple[UplinkSync, StoreReads, list[int]]:
    """The agent's wiring (group commit, its listener to the uplink): each group submitted once the ones before it
    were acknowledged by the broker; the uplink, its store reads and the seqs committed."""
    async def scenario() -> tuple[UplinkSync, StoreReads, list[int]]:
        worker = StoreWorker(Store.open(config.store))
        reads = StoreReads(worker.store)
        worker.store.pending = reads  # type: ignore[method-assign]
        committer = Committer(worker, interval=0.05, max_records=10_000)
        uplink = UplinkSync(config, worker, SystemClock(assume_synced=True), dict, recent_capacity=capacity)
        committer.add_listener(uplink.committed)
        await committer.start()
        await uplink.start()
        seqs: list[int] = []
        try:
            for group in groups:
                seqs += await committer.submit(group)
                deadline = time.monotonic() + 20
                while uplink.counters.records_acked < len(seqs):
                    assert time.monotonic() < deadline, f"not delivered: {uplink.counters}"
                    await asyncio.sleep(0.02)
        finally:
            await committer.stop()
            await uplink.stop(grace=0.5)
            await asyncio.to_thread(worker.close)
        return uplink, reads, seqs

    return asyncio.run(scenario())


def delivered_readings(capture: Capture) -> list[tuple[int, str]]:
    return [(r["seq"], r["point"]) for m in capture.snapshot("/readings") for r in json.loads(m.payload)["records"]]


def test_the_live_lane_sends_committed_readings_from_memory_in_order(tmp_path: Path, broker: Broker) -> None:
    config = load_config(write_site(tmp_path, broker_port=broker.port, devices="")).config
    capture = Capture(broker.port, "fute/gw-test/#")
    try:
        groups = [readings(13, first=13 * index) for index in range(8)]
        uplink, reads, seqs = run_pipeline(config, groups, capacity=5_000)
        sent = delivered_readings(capture)
    finally:
        capture.close()
    assert sent == [(seq, f"p{index}") for index, seq in enumerate(seqs)], "each reading once, in order"
    assert uplink.counters.records_from_memory == len(seqs) == 104
    assert reads.readings == 0, "no reading was read back from the store"
    assert uplink.counters.records_acked == len(seqs)


def test_after_a_gap_the_live_lane_reads_the_store_then_memory_again(tmp_path: Path, broker: Broker) -> None:
    """Memory holds at most 30 readings: a group of 100 overflows it, so its first 70 can only come from the store
    (in batches of 25); once the lane has caught up, the rest and the next group come from memory. Nothing is
    lost, nothing sent twice, order holds."""
    config = load_config(write_site(tmp_path, broker_port=broker.port, devices="",
                                    sync="batch_max_records = 25")).config
    capture = Capture(broker.port, "fute/gw-test/#")
    try:
        uplink, reads, seqs = run_pipeline(config, [readings(100), readings(20, first=100)], capacity=30)
        sent = delivered_readings(capture)
    finally:
        capture.close()
    assert sent == [(seq, f"p{index}") for index, seq in enumerate(seqs)]
    assert reads.readings >= 70, "the readings memory had forgotten were read from the store"
    assert 20 <= uplink.counters.records_from_memory <= 50
    assert reads.readings + uplink.counters.records_from_memory == 120
    assert uplink.counters.records_acked == 120
