"""The group commit on a real store: readings wait for the interval, an event is committed at once."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from edge_agent.config.store import StoreConfig
from edge_agent.reading import Event, Priority, Reading
from edge_agent.store.group_commit import Committer
from edge_agent.store.store import Store
from edge_agent.store.worker import StoreWorker


def test_an_event_is_committed_at_once_with_the_readings_queued_before_it(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, list[int], list[int], list[int]]:
        worker = StoreWorker(Store.open(StoreConfig(path=tmp_path / "store.db")))
        committer = Committer(worker, interval=600.0, max_records=10_000)
        await committer.start()
        await asyncio.sleep(0.1)  # the committer waits for its first interval
        reading = asyncio.ensure_future(committer.submit([Reading("meter", "voltage", 231.0, 1.0e9)]))
        await asyncio.sleep(0.2)
        waited = not reading.done()  # a reading waits for the interval (600 s here)
        alarm = Event("alarm.raised", 1.0e9, Priority.ALARM, "meter", "voltage above 250 V")
        event_seqs = await asyncio.wait_for(committer.submit([alarm]), 30.0)
        reading_seqs = await asyncio.wait_for(reading, 1.0)
        await committer.stop()
        pending = [s.seq for s in worker.store.pending(events=True, after=0, limit=10)]
        worker.close()
        return waited, reading_seqs, event_seqs, pending

    waited, reading_seqs, event_seqs, pending = asyncio.run(scenario())
    assert waited, "readings are committed at the interval, not one by one"
    assert reading_seqs[0] < event_seqs[0], "the readings queued before the event are committed with it, first"
    assert event_seqs[0] in pending



def test_a_submitter_held_back_by_a_full_queue_is_not_overtaken_when_room_is_made(tmp_path: Path) -> None:
    """Back-pressure keeps the order: B waits for room behind A; C arrives in the very turn the commit of A makes
    room, before B has run again. C must still go after B (a LoRaWAN message after the one before it, a device's
    next poll after its last), or the store would hold a device's older value as its newest."""
    async def scenario() -> list[str]:
        worker = StoreWorker(Store.open(StoreConfig(path=tmp_path / "store.db")))
        committer = Committer(worker, interval=600.0, max_records=2, max_queued=2)
        await committer.start()

        def two(name: str) -> list[Reading]:
            return [Reading("meter", name, 1.0, 1.0e9), Reading("meter", name, 2.0, 1.0e9)]

        first = asyncio.ensure_future(committer.submit(two("a")))  # fills the queue; committed at once (2 records)
        held = asyncio.ensure_future(committer.submit(two("b")))  # waits for room
        while committer.stats.committed < 2:  # set in the step that commits A and makes room
            await asyncio.sleep(0)
        await committer.submit(two("c"))  # called in the very step that sees the room (no task in between)
        await asyncio.wait_for(asyncio.gather(first, held), 30.0)
        await committer.stop()
        rows = worker.store.history(1, 10**9, limit=100)
        worker.close()
        return [stored.record.point for stored in rows if isinstance(stored.record, Reading)]

    assert asyncio.run(scenario()) == ["a", "a", "b", "b", "c", "c"]


class _SlowStore(Store):
    """A store whose every commit takes ``SLOW`` seconds (a slow SD card), for the committer's cadence."""

    SLOW = 0.5

    def append(self, records, acked=()):  # type: ignore[no-untyped-def]
        time.sleep(self.SLOW)
        return super().append(records, acked)


def test_commits_come_an_interval_apart_from_their_starts_not_their_ends(tmp_path: Path) -> None:
    """Readings wait at most an interval and a commit's own time: with commits taking 0.5 s every 0.5 s, each
    begins as the one before ends, not 0.5 s after it (readings then waited two commits' time more)."""
    async def scenario() -> list[float]:
        worker = StoreWorker(_SlowStore.open(StoreConfig(path=tmp_path / "store.db")))
        committer = Committer(worker, interval=0.5, max_records=10_000)
        loop = asyncio.get_running_loop()
        ends: list[float] = []
        committer.add_listener(lambda records, seqs: ends.append(loop.time()))
        await committer.start()
        for n in range(80):  # 4 s of a reading every 50 ms
            committer.submit([Reading("meter", "voltage", 230.0 + n, 1.0e9 + n)])
            await asyncio.sleep(0.05)
        await committer.stop()
        worker.close()
        return ends

    ends = asyncio.run(scenario())
    gaps = [b - a for a, b in itertools.pairwise(ends)]
    assert len(gaps) >= 3, ends
    assert sorted(gaps)[len(gaps) // 2] < 0.75, f"commits {gaps} s apart: the interval counted from their ends"


def test_queued_listeners_see_each_submission_before_its_commit_and_cannot_lose_it(tmp_path: Path) -> None:
    """What the alarm rules hear: every submission as it is queued (the commit 600 s away), in order; a listener
    that fails is logged and the records are committed all the same."""
    async def scenario() -> tuple[list[list[str]], int, list[str]]:
        worker = StoreWorker(Store.open(StoreConfig(path=tmp_path / "store.db")))
        committer = Committer(worker, interval=600.0, max_records=10_000)
        heard: list[list[str]] = []
        committer.add_queued_listener(lambda records: heard.append([getattr(r, "point", "?") for r in records]))

        def broken(records: object) -> None:
            raise RuntimeError("a listener's bug")

        committer.add_queued_listener(broken)
        await committer.start()
        first = committer.submit([Reading("meter", "a", 1.0, 1.0e9), Reading("meter", "b", 2.0, 1.0e9)])
        second = committer.submit([Reading("meter", "c", 3.0, 1.0e9)])
        await asyncio.sleep(0.1)
        committed_before = committer.stats.committed  # nothing yet: the interval is 600 s
        await committer.stop()
        await asyncio.wait_for(asyncio.gather(first, second), 1.0)
        rows = worker.store.history(1, 10**9, limit=100)
        worker.close()
        return heard, committed_before, [s.record.point for s in rows if isinstance(s.record, Reading)]

    heard, committed_before, stored = asyncio.run(scenario())
    assert heard == [["a", "b"], ["c"]] and committed_before == 0
    assert stored == ["a", "b", "c"]
