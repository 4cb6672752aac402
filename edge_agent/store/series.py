"""Reading the store back for people: one point's values over a day, and the latest events.

Functions of a ``sqlite3.Connection``, so that the running agent (a read-only connection of its own, off the
writer's thread) and the CLI or the web page with the agent stopped ask the same questions the same way.
The records table has no time index (every index costs SD-card writes); rows are appended in time order,
so the first row of a time range is found by bisecting the sequence numbers, and only that range is read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge_agent.errors import EdgeAgentError
from edge_agent.frozen import frozen
from edge_agent.reading import Event, Quality
from edge_agent.store.rows import KIND_EVENT, KIND_READING, SELECT_COLUMNS, from_row

LATE_MARGIN_S = 3600.0  # readings may be committed this much after their timestamp (LoRaWAN device time)
MAX_BUCKETS = 1000


class StoreUnreadable(EdgeAgentError):
    """The store cannot be opened for reading; the message says why."""


@frozen(slots=True)
class Bucket:
    """The numeric values of one point over one slice of time."""

    ts: float  # the slice's start
    mean: float
    low: float
    high: float
    count: int


def open_reader(db: Path) -> sqlite3.Connection:
    """A read-only connection; StoreUnreadable in plain words if the store is missing or cannot be read.

    A process that may not write beside the store (a sandboxed service) cannot create the WAL's shared-memory
    file: when the agent is stopped and left none, the file is then read as it stands (immutable), unless a commit
    was cut off in rollback mode (its journal left beside the file): that the agent rolls back first.
    """
    if not db.exists():
        raise StoreUnreadable(f"there is no store at {db}: the agent has not run with this config yet")
    last: sqlite3.Error | None = None
    for options in ("mode=ro", "mode=ro&immutable=1"):
        if options.endswith("immutable=1") and _hot_journal(db):
            raise StoreUnreadable(f"cannot read the store {db}: a commit was cut off and its rollback journal is still "
                                  "beside it; start the agent (it rolls the commit back), then ask again")
        try:
            conn = sqlite3.connect(f"file:{db}?{options}", uri=True, timeout=10)
            conn.execute("SELECT 1 FROM records LIMIT 1")
            return conn
        except sqlite3.Error as exc:
            last = exc
    raise StoreUnreadable(f"cannot read the store {db}: {last}")


def _hot_journal(db: Path) -> bool:
    """A rollback journal with pages in it (``store.journal = "rollback"``): read as it stands, the file could hold
    half a commit. Between commits the journal is empty (truncated)."""
    try:
        return Path(f"{db}-journal").stat().st_size > 0
    except OSError:
        return False


def first_seq_at(conn: sqlite3.Connection, ts: float) -> int:
    """The first sequence number whose record is not older than ``ts`` (the next free one if none is). Records made
    before the clock was synchronised are passed over: their time (1970, or a Pi's last saved one) says nothing."""
    # Two queries: SQLite answers min() or max() of the primary key from the b-tree's ends, but both in one query
    # by reading the whole table.
    first = conn.execute("SELECT min(seq) FROM records").fetchone()[0]
    if first is None:
        return 0
    low, high = int(first), int(conn.execute("SELECT max(seq) FROM records").fetchone()[0]) + 1
    while low < high:
        middle = (low + high) // 2
        row = conn.execute("SELECT ts FROM records WHERE seq>=? AND synced=1 ORDER BY seq LIMIT 1",
                           (middle,)).fetchone()
        if row is None or row[0] >= ts:
            high = middle
        else:
            low = middle + 1
    return low


def point_series(conn: sqlite3.Connection, device: str, point: str, since: float, until: float, *,
                 buckets: int = 288) -> list[Bucket]:
    """A point's numeric values in [since, until), in ``buckets`` equal slices (bad-quality values left out)."""
    buckets = max(1, min(buckets, MAX_BUCKETS))
    width = max((until - since) / buckets, 1e-3)
    first = first_seq_at(conn, since - LATE_MARGIN_S)
    rows = conn.execute(
        "SELECT CAST((ts - ?) / ? AS INTEGER) AS slice, avg(value), min(value), max(value), count(*) FROM records"
        " WHERE seq>=? AND kind=? AND device=? AND point=? AND ts>=? AND ts<? AND quality<?"
        " AND typeof(value) IN ('integer', 'real') GROUP BY slice ORDER BY slice",
        (since, width, first, KIND_READING, device, point, since, until, int(Quality.BAD)),
    ).fetchall()
    return [Bucket(since + int(slice_) * width, float(mean), float(low), float(high), int(count))
            for slice_, mean, low, high, count in rows]


def recent_events(conn: sqlite3.Connection, since: float, limit: int = 50,
                  device: str | None = None) -> list[tuple[int, Event]]:
    """The newest events not older than ``since`` (newest first), with their sequence numbers."""
    first = first_seq_at(conn, since - LATE_MARGIN_S)
    rows = conn.execute(
        f"SELECT {SELECT_COLUMNS} FROM records WHERE seq>=? AND kind=? AND ts>=? AND (? IS NULL OR device=?)"
        " ORDER BY seq DESC LIMIT ?",
        (first, KIND_EVENT, since, device, device, limit),
    ).fetchall()
    out = []
    for row in rows:
        stored = from_row(row)
        assert isinstance(stored.record, Event)
        out.append((stored.seq, stored.record))
    return out
