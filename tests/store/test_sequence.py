"""Sequence numbers without AUTOINCREMENT (schema 3): the store numbers its rows, a number is never handed out twice
(not after the newest rows are deleted, not across a restart), and a store of schema 2 is migrated in place, a cut
in the middle of the migration leaving it as it was."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from edge_agent.config.store import StoreConfig
from edge_agent.reading import Reading
from edge_agent.store import database
from edge_agent.store.store import Store

T0 = 1_790_000_000.0

# The schema version 2 wrote (edge-agent with acknowledgement ranges, before this change), as it was.
_V2_SCHEMA = """
CREATE TABLE records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    ts REAL NOT NULL,
    device TEXT,
    point TEXT NOT NULL,
    value,
    vtype TEXT,
    unit TEXT,
    quality INTEGER NOT NULL DEFAULT 0,
    synced INTEGER NOT NULL DEFAULT 1,
    body TEXT,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX records_outbox_events ON records(kind, seq) WHERE sent = 0 AND kind = 1;
CREATE INDEX records_events ON records(point, ts) WHERE kind = 1;
CREATE TABLE acked (first INTEGER PRIMARY KEY, last INTEGER NOT NULL);
CREATE VIEW outbox AS SELECT * FROM records WHERE sent = 0 AND NOT (kind = 0 AND coalesce((SELECT a.last FROM acked a
    WHERE a.first <= records.seq ORDER BY a.first DESC LIMIT 1), -1) >= records.seq);
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE poisoned (seq INTEGER PRIMARY KEY, reason TEXT NOT NULL, at REAL NOT NULL, row TEXT NOT NULL);
PRAGMA user_version=2;
"""


def _store(path: Path) -> Store:
    return Store.open(StoreConfig(path=path))


def _readings(count: int, start: float = T0) -> list[Reading]:
    return [Reading("meter-1", "voltage", 230.0 + i, start + i, "V") for i in range(count)]


def _v2_store(path: Path) -> None:
    """Twelve readings; 1-5 acknowledged (a range); the newest two (11, 12) deleted, so AUTOINCREMENT's 12 is the
    only trace of them."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_V2_SCHEMA)
    insert = "INSERT INTO records (kind, priority, ts, device, point, value, unit) VALUES (0, 0, ?, ?, ?, ?, ?)"
    conn.executemany(insert, [(T0 + i, "meter-1", "voltage", 230.0 + i, "V") for i in range(12)])
    conn.execute("INSERT INTO acked(first, last) VALUES (0, 5)")
    conn.execute("DELETE FROM records WHERE seq > 10")
    conn.close()


def _schema(path: Path) -> tuple[int, str, list[tuple[str]]]:
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name='records'").fetchone()[0]
        return int(version), str(sql), conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


def test_a_new_store_keeps_no_sqlite_sequence_and_numbers_its_rows_in_order(tmp_path: Path) -> None:
    store = _store(tmp_path / "store.db")
    assert store.append(_readings(3)) == [1, 2, 3]
    assert store.append(_readings(2)) == [4, 5]
    store.close()
    conn = sqlite3.connect(tmp_path / "store.db")
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "sqlite_sequence" not in names, "no AUTOINCREMENT: a commit rewrites no sequence page"
    reopened = _store(tmp_path / "store.db")
    assert reopened.append(_readings(1)) == [6]
    reopened.close()


def test_numbers_are_not_handed_out_again_when_the_newest_rows_are_pruned(tmp_path: Path) -> None:
    store = _store(tmp_path / "store.db")
    seqs = store.append(_readings(5))
    store.ack(seqs)
    assert store.prune(now=T0 + 10 * 365 * 86_400.0) == 5, "everything sent and old goes, the newest row too"
    assert store.append(_readings(1)) == [6]
    store.ack([6])
    store.prune(now=T0 + 10 * 365 * 86_400.0)
    store.close()
    reopened = _store(tmp_path / "store.db")
    assert reopened.last_seq() == 6
    assert reopened.append(_readings(1)) == [7], "the floor outlives a restart"
    reopened.close()


def test_a_version_2_store_is_migrated_in_place_and_its_sequence_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _v2_store(path)
    store = _store(path)
    assert [s.seq for s in store.pending(events=False, after=0, limit=100)] == [6, 7, 8, 9, 10]
    assert store.append(_readings(1)) == [13], "12 was handed out before the migration: never again"
    store.close()
    version, sql, check = _schema(path)
    assert version == database.SCHEMA_VERSION
    assert "AUTOINCREMENT" not in sql.upper() and "seq INTEGER PRIMARY KEY" in sql
    assert check == [("ok",)]
    reopened = _store(path)
    assert reopened.append(_readings(1)) == [14]
    assert [s.seq for s in reopened.history(1, 100)] == [*range(1, 11), 13, 14]
    reopened.close()


def test_a_migration_cut_short_leaves_the_version_2_store_whole(tmp_path: Path) -> None:
    """The process dies (no rollback, no close) after the migration's changes, before its commit."""
    path = tmp_path / "store.db"
    _v2_store(path)
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from edge_agent.store import database
        real = database._drop_autoincrement
        def cut(conn):
            real(conn)
            os._exit(9)
        database._drop_autoincrement = cut
        database.open_database(Path({str(path)!r}))
    """)
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ}, check=False, timeout=60)
    assert done.returncode == 9
    version, sql, check = _schema(path)
    assert (version, check) == (2, [("ok",)])
    assert "AUTOINCREMENT" in sql.upper()
    store = _store(path)  # and the next start migrates it
    assert store.append(_readings(1)) == [13]
    store.close()
    assert _schema(path)[0] == database.SCHEMA_VERSION
