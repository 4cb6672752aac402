"""The outbox figures: what the store holds unsent and what it had to give up, read from one connection.

The running store (under its lock) and a read-only view of the file (the CLI with the agent stopped) read them the
same way, so both say the same thing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from edge_agent.frozen import frozen
from edge_agent.store import acks
from edge_agent.store.rows import KIND_EVENT


@frozen
class OutboxStats:
    """What the store holds and what it had to give up."""

    pending_readings: int
    pending_events: int
    oldest_pending_ts: float | None
    last_seq: int
    dropped: int
    set_aside: int
    used_bytes: int
    max_bytes: int

    @property
    def backlog(self) -> int:
        return self.pending_readings + self.pending_events


SEQ_FLOOR_KEY = "seq_floor"  # meta: a sequence number handed out whose row may be gone (deleted, or a store before)


def last_seq(conn: sqlite3.Connection) -> int:
    """The last sequence number handed out (0 for a fresh store): the highest held, or the floor noted in ``meta``
    when the newest rows were deleted (or a fresh store continues a lost one), or, in a store of schema 2 or older
    read as it is, the number its AUTOINCREMENT kept."""
    top = conn.execute("SELECT max(seq) FROM records").fetchone()[0]
    handed = max(int(top or 0), counter(conn, SEQ_FLOOR_KEY))
    try:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='records'").fetchone()
    except sqlite3.OperationalError:  # no such table: a store of schema 3 or later
        return handed
    return max(handed, int(row[0])) if row else handed


def counter(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return int(row[0]) if row else 0


def used_bytes(conn: sqlite3.Connection, page_size: int | None = None) -> int:
    """Bytes the database's pages hold (its free pages left out)."""
    size = page_size if page_size is not None else int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * size)


def read_stats(conn: sqlite3.Connection, max_bytes: int, page_size: int | None = None,
               acked: Sequence[acks.Range] | None = None) -> OutboxStats:
    """The figures; ``acked`` is the acknowledged ranges when the caller holds them (read from the file otherwise).
    A store of schema version 1, read as it is, counts by its ``sent`` flags alone."""
    readings, oldest = acks.count_pending_readings(conn, acks.load(conn) if acked is None else acked)
    events = conn.execute(  # the partial index records_outbox_events answers exactly this
        f"SELECT count(*) FROM records WHERE sent = 0 AND kind = {KIND_EVENT}").fetchone()[0]
    return OutboxStats(
        pending_readings=readings,
        pending_events=int(events),
        oldest_pending_ts=oldest,
        last_seq=last_seq(conn),
        dropped=counter(conn, "dropped"),
        set_aside=counter(conn, "set_aside"),
        used_bytes=used_bytes(conn, page_size),
        max_bytes=max_bytes,
    )
