"""Local history by time: the records of a period, chosen by device, point and event kind, in sequence order.

The records table has no index on time (every index costs SD-card writes at each commit). Records are committed
in time order, give or take late arrivals, so a read that may skip what is far too early starts at the sequence
number where the period begins, found by bisection (``series.first_seq_at``) a day early (``seq_floor``).
A record stamped more than ``SLACK_S`` after it was committed (a device clock in the future) can be missed that
way; the upper end is never cut, so a record committed late (a LoRaWAN uplink replayed after an outage) is read.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edge_agent.frozen import frozen
from edge_agent.reading import Value
from edge_agent.store.rows import KIND_EVENT, KIND_READING, SELECT_COLUMNS, StoredRecord, from_row
from edge_agent.store.series import StoreUnreadable, first_seq_at, open_reader

PAGE = 5000
MMAP_BYTES = 256 * 1024 * 1024
SLACK_S = 86_400.0


Sample = tuple[float, str, str, Value, str | None, int, bool]  # ts, device, point, value, unit, quality, synced


@frozen
class Selection:
    """Which records of a period to read.

    ``points``: reading point names, exact or GLOB patterns (``count_*``); None reads every reading, () none.
    ``units``: only readings with no unit or one of these. ``events``: event kinds; None reads every event, ()
    none. ``device``: only this device. ``bisect``: start at the period's sequence number (see the module's note)
    rather than at the first record held.
    """

    points: tuple[str, ...] | None = None
    events: tuple[str, ...] | None = None
    device: str | None = None
    bisect: bool = False
    units: tuple[str, ...] | None = None


def _point_tests(names: tuple[str, ...]) -> tuple[list[str], list[Any]]:
    """SQL tests of a point name against exact names and patterns; a plain ``prefix*`` becomes a range of the
    index-free kind SQLite compares fastest."""
    exact = [name for name in names if not any(ch in name for ch in "*?[")]
    tests = [f"point IN ({','.join('?' * len(exact))})"] if exact else []
    args: list[Any] = list(exact)
    for pattern in names:
        if pattern in exact:
            continue
        prefix = pattern[:-1]
        if pattern.endswith("*") and prefix and not any(ch in prefix for ch in "*?["):
            tests.append("(point>=? AND point<?)")
            args += [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
        else:
            tests.append("point GLOB ?")
            args.append(pattern)
    return tests, args


def _where(since: float, until: float, selection: Selection) -> tuple[str, list[Any]]:
    clauses = ["ts>=?", "ts<?"]
    args: list[Any] = [since, until]
    if selection.device is not None:
        clauses.append("device=?")
        args.append(selection.device)
    kinds: list[str] = []
    for kind, names in ((KIND_READING, selection.points), (KIND_EVENT, selection.events)):
        units = ""
        if kind == KIND_READING and selection.units is not None:
            units = f" AND (unit IS NULL OR unit IN ({','.join('?' * len(selection.units))}))"
        if names is None:
            kinds.append(f"(kind={kind}{units})")
            args.extend(selection.units or () if units else ())
        elif names:
            tests, values = _point_tests(names)
            kinds.append(f"(kind={kind}{units} AND ({' OR '.join(tests)}))")
            args.extend([*(selection.units or () if units else ()), *values])
    clauses.append(f"({' OR '.join(kinds)})" if kinds else "0")
    return " AND ".join(clauses), args


def page(conn: sqlite3.Connection, since: float, until: float, selection: Selection, after: int, *,
         limit: int = PAGE) -> list[tuple[Any, ...]]:
    """One page of raw rows with seq > ``after``."""
    where, args = _where(since, until, selection)
    return conn.execute(f"SELECT {SELECT_COLUMNS} FROM records WHERE seq>? AND {where} ORDER BY seq LIMIT ?",
                        [after, *args, limit]).fetchall()


def iterate(fetch: Callable[[int], list[tuple[Any, ...]]], after: int = 0) -> Iterator[StoredRecord]:
    """Records page by page; ``fetch(after)`` returns the next page of rows."""
    while True:
        rows = fetch(after)
        if not rows:
            return
        for row in rows:
            yield from_row(row)
        after = rows[-1][0]


def seq_floor(conn: sqlite3.Connection, since: float) -> int:
    """A sequence number below which no synchronised record is stamped later than ``since - SLACK_S``."""
    return max(first_seq_at(conn, since - SLACK_S) - 1, 0)


def iter_range(conn: sqlite3.Connection, since: float, until: float,
               selection: Selection = Selection()) -> Iterator[StoredRecord]:
    """Records with ``ts`` in [since, until) that the selection takes, in sequence order, read in pages."""
    start = seq_floor(conn, since) if selection.bisect else 0
    return iterate(lambda after: page(conn, since, until, selection, after), start)


def count_range(conn: sqlite3.Connection, since: float, until: float, selection: Selection = Selection()) -> int:
    where, args = _where(since, until, selection)
    start = seq_floor(conn, since) if selection.bisect else 0
    row = conn.execute(f"SELECT count(*) FROM records WHERE seq>? AND {where}", [start, *args]).fetchone()
    return int(row[0])


def events(conn: sqlite3.Connection, since: float, until: float, kinds: tuple[str, ...],
           device: str | None = None) -> list[StoredRecord]:
    """Events of these kinds with ``ts`` in [since, until), in sequence order, through the events index (events are
    few: a week of them is read without going through the week's readings)."""
    if not kinds:
        return []
    rows = conn.execute(
        f"SELECT {SELECT_COLUMNS} FROM records WHERE kind={KIND_EVENT} AND point IN ({','.join('?' * len(kinds))})"
        " AND ts>=? AND ts<? AND (? IS NULL OR device=?) ORDER BY seq", [*kinds, since, until, device, device],
    ).fetchall()
    return [from_row(row) for row in rows]


def scan(conn: sqlite3.Connection, since: float, until: float, selection: Selection) -> Iterator[Sample | StoredRecord]:
    """The records of the selection in one pass: readings as plain ``Sample`` tuples (the reports read tens of
    thousands of values and need no record objects), events as stored records. Events alone of given kinds are
    read through the events index; readings alone with only the columns a sample needs."""
    if selection.points == () and selection.events:
        yield from events(conn, since, until, selection.events, selection.device)
        return
    where, args = _where(since, until, selection)
    after = seq_floor(conn, since) if selection.bisect else 0
    if selection.events == ():
        query = (f"SELECT seq, ts, device, point, value, vtype, unit, quality, synced FROM records WHERE seq>?"
                 f" AND {where} ORDER BY seq LIMIT {PAGE}")
        while rows := conn.execute(query, [after, *args]).fetchall():
            for _, ts, device, point, value, vtype, unit, quality, synced in rows:
                yield ts, device, point, bool(value) if vtype == "b" else value, unit, quality, bool(synced)
            after = rows[-1][0]
        return
    query = f"SELECT {SELECT_COLUMNS} FROM records WHERE seq>? AND {where} ORDER BY seq LIMIT {PAGE}"
    while rows := conn.execute(query, [after, *args]).fetchall():
        for row in rows:
            if row[1] == KIND_READING:
                _, _, _, ts, device, point, value, vtype, unit, quality, synced, _, _ = row
                yield ts, device, point, bool(value) if vtype == "b" else value, unit, quality, bool(synced)
            else:
                yield from_row(row)
        after = rows[-1][0]


class HistoryReader:
    """A read-only connection to a store file (``series.open_reader``). Safe beside a running agent: it never takes
    the agent's lock; in WAL it never waits for it, so a long read holds up no commit (in rollback mode a commit
    waits for the query running, not for the whole read: the rows come a page at a time). ``interrupt`` (from
    another thread) ends a read at once: the running query and every page after it raise ``StoreUnreadable``."""

    def __init__(self, path: Path) -> None:
        self._halted = threading.Event()
        self._conn = open_reader(path)
        self._conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")  # a month's scan reads pages in place, not copied

    def records(self, since: float, until: float, selection: Selection = Selection()) -> Iterator[StoredRecord]:
        return iter_range(self._conn, since, until, selection)

    def scan(self, since: float, until: float, selection: Selection) -> Iterator[Sample | StoredRecord]:
        try:
            for item in scan(self._conn, since, until, selection):
                if self._halted.is_set():
                    raise StoreUnreadable("the read was interrupted")
                yield item
        except sqlite3.OperationalError as exc:
            raise StoreUnreadable(f"the read was interrupted: {exc}") from exc

    def events(self, since: float, until: float, kinds: tuple[str, ...]) -> list[StoredRecord]:
        try:
            return events(self._conn, since, until, kinds)
        except sqlite3.OperationalError as exc:
            raise StoreUnreadable(f"the read was interrupted: {exc}") from exc

    def interrupt(self) -> None:
        self._halted.set()
        with contextlib.suppress(sqlite3.ProgrammingError):  # already closed: nothing left to stop
            self._conn.interrupt()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> HistoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
