"""Acknowledged readings kept as ranges: the outbox they leave, the ranges they merge into, and the migration of a
store written by schema version 1 (acknowledgements as a ``sent`` flag on each row)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge_agent.config.store import StoreConfig
from edge_agent.reading import Event, Priority, Reading
from edge_agent.store import acks, database
from edge_agent.store.store import Store

T0 = 1_790_000_000.0

# The schema version 1 wrote (edge-agent before acknowledgement ranges), as it was.
_V1_SCHEMA = """
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, priority INTEGER NOT NULL, ts REAL NOT NULL,
    device TEXT, point TEXT NOT NULL, value, vtype TEXT, unit TEXT, quality INTEGER NOT NULL DEFAULT 0,
    synced INTEGER NOT NULL DEFAULT 1, body TEXT, sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX records_outbox ON records(kind, seq) WHERE sent = 0;
CREATE INDEX records_events ON records(point, ts) WHERE kind = 1;
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE poisoned (seq INTEGER PRIMARY KEY, reason TEXT NOT NULL, at REAL NOT NULL, row TEXT NOT NULL);
PRAGMA user_version=1;
"""


def _store(path: Path) -> Store:
    return Store.open(StoreConfig(path=path))


def _readings(count: int) -> list[Reading]:
    return [Reading("meter-1", "voltage", 230.0 + i, T0 + i, "V") for i in range(count)]


def _pending(store: Store, *, events: bool = False) -> list[int]:
    return [stored.seq for stored in store.pending(events=events, after=0, limit=1000)]


def test_a_version_1_store_keeps_its_outbox_through_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_V1_SCHEMA)
    insert = ("INSERT INTO records (kind, priority, ts, device, point, value, unit, body, sent)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    sent = {1: 1, 2: 1, 3: 2, 4: 1, 5: 1, 6: 0, 7: 1, 8: 0, 9: 0}  # 3 set aside; 7 acknowledged out of order
    for seq in range(1, 10):
        conn.execute(insert, (0, 0, T0 + seq, "meter-1", "voltage", 230.0 + seq, "V", None, sent[seq]))
    conn.execute(insert, (1, 2, T0 + 10, "meter-1", "device_offline", None, None, '{"message":"gone"}', 0))
    conn.execute(insert, (1, 2, T0 + 11, "meter-1", "device_online", None, None, '{"message":"back"}', 1))
    conn.commit()
    conn.close()

    store = _store(path)
    assert _pending(store) == [6, 8, 9]
    assert _pending(store, events=True) == [10]
    stats = store.stats()
    assert (stats.pending_readings, stats.pending_events, stats.oldest_pending_ts) == (3, 1, T0 + 6)
    store.ack([8, 10])
    assert _pending(store) == [6, 9] and _pending(store, events=True) == []
    history = store.history(1, 11)
    assert [s.seq for s in history] == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11], "history keeps every record"
    assert [s.seq for s in history if not s.sent] == [6, 9]
    assert store.append(_readings(1)) == [12], "the sequence goes on"
    store.close()

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA_VERSION
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "records_outbox" not in names and {"acked", "outbox", "records_outbox_events"} <= names
    assert sorted(row[0] for row in conn.execute("SELECT seq FROM outbox")) == [6, 9, 12]
    conn.close()
    reopened = _store(path)
    assert _pending(reopened) == [6, 9, 12], "the ranges outlive a restart"
    reopened.close()


def test_acknowledgements_merge_into_one_range_across_events_and_set_aside_readings(tmp_path: Path) -> None:
    store = _store(tmp_path / "store.db")
    first = store.append(_readings(5))
    event = store.append([Event("alarm.raised", T0, Priority.ALARM, "meter-1", "over 250 V")])
    second = store.append(_readings(5))
    poisoned = second[0]
    notice = store.set_aside(poisoned, "undecodable")
    assert notice is not None
    store.ack(second[1:])  # the later batch first, as the live lane may
    assert _pending(store) == first
    store.ack(first)
    assert _pending(store) == [] and _pending(store, events=True) == [*event, notice]
    conn = sqlite3.connect(tmp_path / "store.db")
    ranges = conn.execute("SELECT first, last FROM acked").fetchall()
    conn.close()
    assert ranges == [(first[0], second[-1])], "the event and the reading set aside do not split the range"
    stats = store.stats()
    assert stats.pending_readings == 0 and stats.backlog == 2  # the events, not acknowledged yet
    store.ack([*event, notice])
    assert store.stats().backlog == 0
    store.close()


def test_an_unacknowledged_reading_keeps_two_ranges_apart(tmp_path: Path) -> None:
    store = _store(tmp_path / "store.db")
    seqs = store.append(_readings(10))
    store.append([], seqs[:4])  # acknowledgements riding in a commit without records
    store.ack(seqs[5:])
    assert _pending(store) == [seqs[4]]
    assert [s.seq for s in store.pending(events=False, after=seqs[4], limit=10)] == []
    assert store.stats().pending_readings == 1
    store.ack([seqs[4]])
    assert _pending(store) == []
    store.close()
    conn = sqlite3.connect(tmp_path / "store.db")
    assert conn.execute("SELECT first, last FROM acked").fetchall() == [(seqs[0], seqs[-1])]
    conn.close()


def test_retention_forgets_acknowledged_readings_only(tmp_path: Path) -> None:
    store = Store.open(StoreConfig(path=tmp_path / "store.db", retention_days=1))
    seqs = store.append(_readings(6))
    store.ack(seqs[:3])
    assert store.prune(T0 + 3 * 86_400) == 3
    assert _pending(store) == seqs[3:]
    store.close()


def test_gaps_are_what_no_range_covers() -> None:
    ranges = [(5, 9), (12, 12), (20, 30)]
    assert list(acks.gaps(ranges, 0, 100)) == [(0, 5), (9, 12), (12, 20), (30, 100)]
    assert list(acks.gaps(ranges, 7, 25)) == [(9, 12), (12, 20)]
    assert list(acks.gaps(ranges, 30, 31)) == []
    assert acks.covering(ranges, 12) == (12, 12) and acks.covering(ranges, 13) is None
    assert acks.merge(ranges, [10, 11], lambda low, high: False) == [(5, 12), (20, 30)]
