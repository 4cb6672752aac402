"""The SQLite store on real files: sequence numbers, the outbox, the size bound, corrupt files, retention."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge_agent.config.store import StoreConfig
from edge_agent.reading import Event, Priority, Quality, Reading
from edge_agent.store.store import Store

T0 = 1_790_000_000.0


def open_store(tmp_path: Path, **overrides: object) -> Store:
    return Store.open(StoreConfig(path=tmp_path / "store.db", **overrides))  # type: ignore[arg-type]


def readings(count: int, device: str = "meter-1", ts: float = T0) -> list[Reading]:
    return [Reading(device=device, point="voltage", value=230.0 + i, ts=ts + i, unit="V") for i in range(count)]


def test_sequence_numbers_increase_across_batches_and_restarts(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    first = store.append(readings(3))
    second = store.append(readings(2))
    store.close()
    reopened = open_store(tmp_path)
    third = reopened.append(readings(1))
    assert first == [1, 2, 3] and second == [4, 5] and third == [6]


def test_values_round_trip_with_types_and_quality(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.append([
        Reading("cab-1", "door_open", True, T0),
        Reading("cab-1", "firmware", "1.2.3", T0),
        Reading("cab-1", "hours", 12345, T0, unit="h", quality=Quality.UNCERTAIN, clock_synced=False),
        Event("device_offline", T0, Priority.WARNING, device="cab-1", message="no answer", data={"timeouts": 3}),
    ])
    got = [s.record for s in store.pending(events=False, after=0, limit=10)]
    assert [r.value for r in got] == [True, "1.2.3", 12345]  # type: ignore[union-attr]
    assert isinstance(got[0].value, bool)  # type: ignore[union-attr]
    assert got[2].quality is Quality.UNCERTAIN and not got[2].clock_synced  # type: ignore[union-attr]
    event = store.pending(events=True, after=0, limit=10)[0].record
    assert isinstance(event, Event) and event.data == {"timeouts": 3} and event.priority is Priority.WARNING


def test_ack_removes_from_outbox_but_keeps_history(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    seqs = store.append(readings(10))
    store.ack(seqs[:4])
    pending = store.pending(events=False, after=0, limit=100)
    assert [p.seq for p in pending] == seqs[4:]
    assert [h.seq for h in store.history(1, 10)] == seqs
    assert store.stats().pending_readings == 6


def test_pending_respects_cursor_bounds_and_limit(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.append(readings(20))
    picked = store.pending(events=False, after=5, before=12, limit=3)
    assert [p.seq for p in picked] == [6, 7, 8]


def test_size_bound_drops_oldest_routine_readings_and_never_events(tmp_path: Path) -> None:
    store = open_store(tmp_path, max_bytes=1_000_000)
    alarms = 0
    for batch in range(60):
        store.append(readings(1000, ts=T0 + batch * 1000))
        store.append([Event("bin_full", T0 + batch, Priority.ALARM, device="bin-1")])
        alarms += 1
    stats = store.stats()
    assert stats.used_bytes <= 1_000_000
    assert stats.dropped > 0
    assert stats.pending_events == alarms, "an unsent alarm was dropped"
    remaining = store.pending(events=False, after=0, limit=1)[0].seq
    assert remaining > 1000, "the oldest readings should be the ones dropped"
    assert stats.pending_readings + stats.dropped == 60_000


def test_size_bound_drops_sent_history_before_unsent_readings(tmp_path: Path) -> None:
    store = open_store(tmp_path, max_bytes=1_000_000)
    seqs = store.append(readings(8000))
    store.ack(seqs)
    for _ in range(12):
        store.append(readings(1000))
    stats = store.stats()
    assert stats.dropped == 0, "unsent readings were dropped while sent history could go"
    assert stats.pending_readings == 12_000


def test_corrupt_file_is_moved_aside_and_sequence_continues(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.append(readings(50))
    store.close()
    db = tmp_path / "store.db"
    with open(db, "r+b") as handle:
        handle.seek(0)
        handle.write(b"\x00garbage" * 512)
    fresh = open_store(tmp_path)
    assert [e.kind for e in fresh.startup_events] == ["store_corrupt"]
    assert fresh.startup_events[0].priority is Priority.ALARM
    aside = list(tmp_path.glob("store.db.corrupt-*"))
    assert aside, "the corrupt file should be kept for inspection"
    seq = fresh.append(readings(1))[0]
    assert seq > 50, "a fresh store must never reuse a sequence number the hypervisor may have seen"


def test_truncated_file_is_recovered(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.append(readings(2000))
    store.close()
    db = tmp_path / "store.db"
    db.write_bytes(db.read_bytes()[:5000])
    fresh = open_store(tmp_path)
    assert fresh.startup_events and fresh.startup_events[0].kind == "store_corrupt"
    assert fresh.append(readings(1))[0] > 2000


def test_retention_forgets_only_sent_records(tmp_path: Path) -> None:
    store = open_store(tmp_path, retention_days=1)
    old = store.append(readings(5, ts=T0))
    store.append(readings(5, ts=T0))
    store.ack(old)
    gone = store.prune(now=T0 + 2 * 86_400)
    assert gone == 5
    assert store.stats().pending_readings == 5


def test_set_aside_takes_a_record_out_of_the_outbox(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    seqs = store.append(readings(3))
    store.set_aside(seqs[1], "too large")
    assert [p.seq for p in store.pending(events=False, after=0, limit=10)] == [seqs[0], seqs[2]]
    assert store.stats().set_aside == 1
    rows = sqlite3.connect(tmp_path / "store.db").execute("SELECT seq, reason FROM poisoned").fetchall()
    assert rows == [(seqs[1], "too large")]


def test_a_record_set_aside_is_announced_by_an_event_in_the_same_transaction(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    seqs = store.append(readings(2))
    notice = store.set_aside(seqs[0], "cannot be encoded (bad \ud800)", T0 + 5)
    assert notice is not None and notice > seqs[-1]
    (event,) = store.pending(events=True, after=0, limit=10)
    assert (event.seq, event.record.kind, event.record.ts) == (notice, "record_set_aside", T0 + 5)
    assert event.record.data == {"seq": seqs[0], "reason": "cannot be encoded (bad \ufffd)"}
    assert store.set_aside(notice, "its own notice cannot be sent either") is None  # no notice of a notice
    assert store.stats().set_aside == 2


def test_database_is_in_wal_mode(tmp_path: Path) -> None:
    open_store(tmp_path).append(readings(1))
    mode = sqlite3.connect(tmp_path / "store.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_record_sqlite_cannot_take_becomes_an_event_and_the_commit_goes_through(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    odd = Reading("m-1", "shape", [1, 2], T0)  # type: ignore[arg-type]  # no codec makes this; a bug might
    seqs = store.append([*readings(1), odd, *readings(1)])
    assert len(seqs) == 3
    kinds = [(type(s.record).__name__, getattr(s.record, "kind", None)) for s in store.history(1, 10)]
    assert kinds == [("Reading", None), ("Event", "record_unstorable"), ("Reading", None)]
    (event,) = store.pending(events=True, after=0, limit=10)
    assert "reading shape could not be stored" in event.record.message


def test_plain_readings_are_stored_exactly_as_the_general_row_would_store_them(tmp_path: Path) -> None:
    """Plain readings go in through a shorter insert (constants for kind, priority and body): the rows must be
    those the general one writes, and what the store gives back must equal what was handed in."""
    from edge_agent.store.rows import INSERT_SQL, stored_as_is, to_row

    mixed: list[Reading | Event] = [
        Reading("cab-1", "voltage", 231.5, T0, "V"),
        Reading("cab-1", "door_open", False, T0, None, Quality.BAD),
        Reading("cab-1", "temperature", -3.5, T0 + 0.25, "°C", clock_synced=False),
        Reading("cab-1", "hours", 2**62, T0),
        Reading("cab-1", "total", 2**70, T0),  # beyond SQLite's integers: the general row (a float)
        Reading("cab-1", "nan", float("nan"), T0),
        Reading("cab-1", "firmware", "1.2.3", T0),
        Reading("cab-1", "none", None, T0, quality=Quality.BAD),
        Event("device_offline", T0, Priority.WARNING, device="cab-1", message="no answer"),
        Reading("caf\udce9", "p", 1, T0),
    ]
    store = open_store(tmp_path)
    seqs = store.append(mixed)
    store.close()
    reference = sqlite3.connect(":memory:")
    reference.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, kind, priority, ts, device, point, value, vtype,"
                      " unit, quality DEFAULT 0, synced DEFAULT 1, body, sent DEFAULT 0)")
    reference.executemany(INSERT_SQL, [(seq, *to_row(record)) for seq, record in zip(seqs, mixed, strict=True)])
    columns = "seq, kind, priority, ts, device, point, value, vtype, unit, quality, synced, body, sent"
    expected = reference.execute(f"SELECT {columns} FROM records ORDER BY seq").fetchall()
    with sqlite3.connect(tmp_path / "store.db") as conn:
        stored = conn.execute(f"SELECT {columns} FROM records WHERE seq >= ? ORDER BY seq", (seqs[0],)).fetchall()
    assert [tuple(row) for row in stored] == [tuple(row) for row in expected]
    reopened = open_store(tmp_path)
    back = {s.seq: s.record for s in reopened.pending(events=False, after=0, limit=100)}
    plain = [(seq, record) for seq, record in zip(seqs, mixed, strict=True)
             if isinstance(record, Reading) and stored_as_is(record)]
    assert len(plain) == 5 and all(back[seq] == record for seq, record in plain)


def test_every_write_that_can_leave_an_unsent_event_moves_the_event_count(tmp_path: Path) -> None:
    """The uplink skips reading the events lane while ``events_written`` stays as it was when the lane was found
    empty: any write that leaves an unsent event behind must move it; readings (kept as they are or not) and
    acknowledgements leave it as it is, so that their commits cost the uplink no read of the store."""
    store = open_store(tmp_path)
    seen, cursor = store.events_written, store.last_seq()

    def new_events() -> list[int]:
        return [s.seq for s in store.pending(events=True, after=cursor, limit=100)]

    odd = Reading("m-1", "shape", [1], T0)  # type: ignore[arg-type]  # SQLite cannot take it: becomes an event
    writes: list[tuple[str, Callable[[], object], bool]] = [
        ("plain readings", lambda: store.append(readings(5)), False),
        ("acknowledgements", lambda: store.ack([1, 2]), False),
        ("an alarm", lambda: store.append([*readings(2), Event("door_open", T0, Priority.ALARM)]), True),
        ("a reading stored differently", lambda: store.append([Reading("cab-1", "firmware", "1.2", T0)]), False),
        ("a record SQLite cannot take", lambda: store.append([odd]), True),
        ("a record set aside", lambda: store.set_aside(3, "cannot be encoded"), True),
    ]
    for what, write, leaves_event in writes:
        write()
        found = new_events()
        assert bool(found) is leaves_event, what
        if found:
            assert store.events_written != seen, f"{what}: an event waits and the count did not move"
            cursor = max(found)
        else:  # nothing to read: the count stays, and the uplink does not ask the store
            assert store.events_written == seen, f"{what}: the count moved without an event"
        seen = store.events_written
    plain = store.events_written
    store.append(readings(50))
    assert store.events_written == plain  # the peer workload's commits: no read of the events lane for them
