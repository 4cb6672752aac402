"""Acknowledged readings as ranges of sequence numbers (table ``acked``), not as a flag on each row.

A range ``[first, last]`` says: every reading (kind 0) with a sequence number in it was acknowledged by the broker.
Readings are acknowledged in sequence order, batch after batch, so a handful of ranges (usually one, two while a
backlog drains beside live data) stand for millions of rows. Recording an acknowledgement then rewrites one small
page instead of every page holding the acknowledged rows and the entries of an outbox index: at a commune's load
that halves the bytes written to the SD card (docs/performance.md). Events keep their ``sent`` flag (they are few
and are looked up through their own partial index); ``sent = 2`` still marks a record set aside.

Two ranges are merged when no unacknowledged reading lies between them (events, or readings set aside, may).
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Callable, Iterator, Sequence

Range = tuple[int, int]

# Whether the row ``records.seq`` is a reading inside an acknowledged range (for WHERE clauses on ``records``).
COVERED_SQL = ("(kind = 0 AND coalesce((SELECT a.last FROM acked a WHERE a.first <= records.seq"
               " ORDER BY a.first DESC LIMIT 1), -1) >= records.seq)")


def load(conn: sqlite3.Connection) -> list[Range]:
    """The ranges; none in a store of schema version 1 read as it is (its acknowledgements are ``sent`` flags)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='acked'").fetchone() is None:
        return []
    return [(int(first), int(last)) for first, last in conn.execute("SELECT first, last FROM acked ORDER BY first")]


def covering(ranges: Sequence[Range], seq: int) -> Range | None:
    """The range holding ``seq``, if any."""
    index = bisect.bisect_right(ranges, (seq, 2**63)) - 1
    if index >= 0 and ranges[index][0] <= seq <= ranges[index][1]:
        return ranges[index]
    return None


def runs(seqs: Sequence[int]) -> list[Range]:
    """Sorted, consecutive runs of ``seqs``."""
    out: list[Range] = []
    for seq in sorted(set(seqs)):
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


def merge(ranges: Sequence[Range], seqs: Sequence[int], clear_between: Callable[[int, int], bool]) -> list[Range]:
    """``ranges`` with ``seqs`` added; neighbours joined when ``clear_between(a, b)`` says no unacknowledged reading
    has a sequence number strictly between ``a`` and ``b``."""
    merged: list[Range] = []
    for first, last in sorted([*ranges, *runs(seqs)]):
        if merged and (first <= merged[-1][1] + 1 or clear_between(merged[-1][1], first)):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def save(conn: sqlite3.Connection, before: Sequence[Range], after: Sequence[Range]) -> None:
    """Write the change from ``before`` to ``after`` (inside the caller's transaction)."""
    gone = set(before) - set(after)
    added = set(after) - set(before)
    if gone:
        conn.executemany("DELETE FROM acked WHERE first = ?", [(first,) for first, _ in gone])
    if added:
        conn.executemany("INSERT OR REPLACE INTO acked(first, last) VALUES (?, ?)", sorted(added))


def gaps(ranges: Sequence[Range], after: int, before: int) -> Iterator[Range]:
    """The open intervals ``(lo, hi)`` of sequence numbers in ``(after, before)`` that no range covers, in order."""
    low = after
    index = bisect.bisect_right(ranges, (low, 2**63)) - 1
    if index >= 0 and ranges[index][1] > low:
        low = ranges[index][1]
    for first, last in ranges[max(index + 1, 0):]:
        if first >= before:
            break
        if first > low + 1:
            yield low, first
        low = max(low, last)
    if low + 1 < before:
        yield low, before


def pending_readings(conn: sqlite3.Connection, ranges: Sequence[Range], columns: str, after: int, before: int, *,
                     limit: int) -> list[tuple[object, ...]]:
    """Rows of unacknowledged readings (``sent = 0``) with seq in ``(after, before)``, oldest first."""
    rows: list[tuple[object, ...]] = []
    for low, high in gaps(ranges, after, before):
        rows += conn.execute(
            f"SELECT {columns} FROM records WHERE seq > ? AND seq < ? AND kind = 0 AND sent = 0 ORDER BY seq LIMIT ?",
            (low, high, limit - len(rows))).fetchall()
        if len(rows) >= limit:
            break
    return rows


def count_pending_readings(conn: sqlite3.Connection, ranges: Sequence[Range]) -> tuple[int, float | None]:
    """How many readings wait for an acknowledgement, and the time of the oldest."""
    count, oldest = 0, None
    for low, high in gaps(ranges, -1, 2**62):
        count += conn.execute("SELECT count(*) FROM records WHERE seq > ? AND seq < ? AND kind = 0 AND sent = 0",
                              (low, high)).fetchone()[0]
        if oldest is None:
            row = conn.execute("SELECT ts FROM records WHERE seq > ? AND seq < ? AND kind = 0 AND sent = 0"
                               " ORDER BY seq LIMIT 1", (low, high)).fetchone()
            oldest = None if row is None else float(row[0])
    return count, oldest


def has_pending_reading(conn: sqlite3.Connection, low: int, high: int) -> bool:
    """Whether an unacknowledged reading has a sequence number strictly between ``low`` and ``high`` (ranges aside:
    the caller asks about a gap between two ranges)."""
    return conn.execute("SELECT 1 FROM records WHERE seq > ? AND seq < ? AND kind = 0 AND sent = 0 LIMIT 1",
                        (low, high)).fetchone() is not None
