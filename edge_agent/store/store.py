"""The store: append records, hand out the outbox, take acknowledgements, stay within its bound."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from edge_agent.config.store import StoreConfig
from edge_agent.errors import StoreFullError
from edge_agent.logs import get_logger
from edge_agent.reading import Event, Priority, Record
from edge_agent.safe_text import safe_text
from edge_agent.store import acks, database, outbox
from edge_agent.store.history import Selection, iterate, page, seq_floor
from edge_agent.store.outbox import OutboxStats
from edge_agent.store.reserve import SpaceReserve
from edge_agent.store.rows import (
    INSERT_READING_SQL,
    INSERT_SQL,
    KIND_EVENT,
    SELECT_COLUMNS,
    Row,
    StoredRecord,
    from_row,
    insert_params,
    to_row,
    unstorable_row,
)

log = get_logger(__name__)

_LOW_WATER = 0.9  # after making room, the store is at most this share of its bound
_DAY = 86_400.0
_RESERVE_SHARE = 50  # the spare-room file is max_bytes / 50, at most 4 MB
_RESERVE_MAX = 4 * 1024 * 1024
_TIGHT_WAL_PAGES = 64  # on a full disk the WAL is checkpointed this often, so it never eats the room left
SET_ASIDE_EVENT = "record_set_aside"
_UNBINDABLE = (sqlite3.InterfaceError, sqlite3.ProgrammingError, OverflowError, ValueError)


class Store:
    """One SQLite file. Thread-safe: every call holds the store's lock."""

    def __init__(self, config: StoreConfig, result: database.OpenResult) -> None:
        self._config = config
        self._conn = result.conn
        self._lock = threading.Lock()
        self._path = config.path
        self._reserved = database.read_reserved(config.path)
        self._page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
        self._spare = SpaceReserve(config.path, min(config.max_bytes // _RESERVE_SHARE, _RESERVE_MAX))
        self._spare.ensure()
        self._bound = config.max_bytes  # lowered to what fits while the disk is full
        self._acked = acks.load(self._conn)  # acknowledged readings, as ranges of sequence numbers
        self._last = outbox.last_seq(self._conn)  # the last sequence number handed out: rows are numbered here
        self._dropped_through = 0  # the newest unsent reading dropped at the size bound (this run)
        self._events_written = 0  # commits that may have written an event (this run): see ``events_written``
        self.startup_events = [_corrupt_alarm(moved, result) for moved in result.unreported]
        self._unreported = {str(moved) for moved in result.unreported}

    @classmethod
    def open(cls, config: StoreConfig) -> Store:
        return cls(config, database.open_database(config.path, synchronous=config.synchronous,
                                                  journal=config.journal))

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError as exc:
                log.warning("store_checkpoint_failed", error=str(exc))
            self._conn.close()

    # -- writing -------------------------------------------------------------------------------

    def append(self, records: Sequence[Record], acked: Sequence[int] = ()) -> list[int]:
        """Commit records in one transaction, with the acknowledgements ``acked`` (records now sent) in the same
        transaction: one write to the SD card instead of two. Return the records' sequence numbers."""
        if not records:
            self.ack(acked)
            return []
        reported = self._reported_by(records)
        with self._lock:
            self._reserve(self._last_seq() + len(records))
            try:
                seqs = self._insert(records, acked, reported)
            except sqlite3.OperationalError as exc:
                if not _is_full(exc):
                    raise
                seqs = self._insert_when_full(records, exc, reported)
                self._ack_now(acked)
            self._keep_bound()
            self._unreported -= set(reported)
        return seqs

    def _reported_by(self, records: Sequence[Record]) -> list[str]:
        """The moved-aside files whose alarm is among ``records``."""
        if not self._unreported:
            return []
        moved = [str(r.data.get("moved_to")) for r in records if isinstance(r, Event) and r.kind == "store_corrupt"]
        return [path for path in moved if path in self._unreported]

    def _insert(self, records: Sequence[Record], acked: Sequence[int] = (),
                reported: Sequence[str] = ()) -> list[int]:
        conn = self._conn
        ranges = self._acked
        with database.transaction(conn):
            first = self._last + 1
            last = first + len(records) - 1
            try:  # numbered after the last number handed out: the plain readings in one statement, the rest in another
                plain, others = insert_params(records, first)
                if plain:
                    conn.executemany(INSERT_READING_SQL, plain)
                if others:
                    if any(row[1] == KIND_EVENT for row in others):  # not a reading kept otherwise (text, NaN)
                        self._events_written += 1
                    conn.executemany(INSERT_SQL, others)
            except _UNBINDABLE:
                conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                self._events_written += 1  # a record SQLite cannot take is replaced by an event
                self._insert_one_by_one(first, [to_row(record) for record in records])
            ranges = self._mark_sent(acked)
            if reported:  # the alarm and the note that it was raised commit together
                names = sorted({*(database.reported(conn) or []), *(Path(p).name for p in reported)})
                conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                             (database.REPORTED_KEY, json.dumps(names)))
        self._acked = ranges
        self._last = last
        return list(range(first, last + 1))

    def _insert_one_by_one(self, first: int, rows: Sequence[Row]) -> None:
        """Insert row by row, numbered from ``first``, each row SQLite cannot take replaced by an event saying so:
        the commit is never lost for one bad value."""
        conn = self._conn
        for seq, row in enumerate(rows, start=first):
            try:
                conn.execute(INSERT_SQL, (seq, *row))
            except _UNBINDABLE as exc:
                log.error("record_unstorable", point=str(row[4])[:100], error=f"{type(exc).__name__}: {exc}")
                conn.execute(INSERT_SQL, (seq, *unstorable_row(row, exc)))

    def _last_seq(self) -> int:
        return self._last

    def _reserve(self, up_to: int) -> None:
        """Before a commit takes sequence numbers up to ``up_to``: make sure the side file reserves them, so that a
        fresh database (the old one lost or corrupt) never hands out a number already used."""
        if up_to >= self._reserved:
            try:  # a failure must not lose the records: they are committed all the same, and reserved next time
                database.reserve_sequence(self._path, up_to + database.SEQ_BLOCK)
            except OSError as exc:
                log.error("store_sequence_reservation_failed", error=str(exc), action="retried at the next commit")
                return
            self._reserved = up_to + database.SEQ_BLOCK

    def ack(self, seqs: Sequence[int]) -> None:
        """The broker acknowledged these records: they leave the outbox, stay in history."""
        if not seqs:
            return
        with self._lock:
            self._ack_now(seqs)

    def _ack_now(self, seqs: Sequence[int]) -> None:
        """``_mark_sent`` in a transaction of its own."""
        if not seqs:
            return
        with database.transaction(self._conn):
            ranges = self._mark_sent(seqs)
        self._acked = ranges

    def _mark_sent(self, seqs: Sequence[int]) -> list[acks.Range]:
        """Inside a transaction: events among ``seqs`` get their flag, readings join the acknowledged ranges.
        Returns the new ranges, for the caller to keep once the transaction is committed."""
        if not seqs:
            return self._acked
        conn = self._conn
        conn.execute("UPDATE records SET sent=1 WHERE kind=1 AND sent=0 AND seq IN (SELECT value FROM json_each(?))",
                     (json.dumps(list(seqs)),))
        ranges = acks.merge(self._acked, seqs, lambda low, high: not acks.has_pending_reading(conn, low, high))
        acks.save(conn, self._acked, ranges)
        return ranges

    def set_aside(self, seq: int, reason: str, ts: float | None = None, *, synced: bool = True) -> int | None:
        """Take one poisoned record out of the outbox so it never blocks the ones behind it, and count it. In the
        same transaction a ``record_set_aside`` event (stamped ``ts``, now by default) says so upstream; its seq is
        returned (None when there was no such record, or it was itself such an event)."""
        reason = safe_text(reason)
        with self._lock:
            conn = self._conn
            row = conn.execute(f"SELECT {SELECT_COLUMNS} FROM records WHERE seq=?", (seq,)).fetchone()
            if row is None:
                return None
            notice = None if (row[1], row[5]) == (KIND_EVENT, SET_ASIDE_EVENT) else _set_aside_event(
                seq, reason, time.time() if ts is None else ts, synced)
            with database.transaction(conn):
                conn.execute(
                    "INSERT OR REPLACE INTO poisoned(seq, reason, at, row) VALUES (?, ?, strftime('%s','now'), ?)",
                    (seq, reason, json.dumps(row, default=str)),
                )
                conn.execute("UPDATE records SET sent=2 WHERE seq=?", (seq,))
                self._bump("set_aside", 1)
                event_seq = None if notice is None else self._last + 1
                if notice is not None:
                    self._events_written += 1
                    conn.execute(INSERT_SQL, (event_seq, *to_row(notice)))
            if event_seq is not None:
                self._last = event_seq
                self._reserve(event_seq)
        log.error("record_set_aside", seq=seq, reason=reason)
        return event_seq

    # -- the outbox ----------------------------------------------------------------------------

    def pending(self, *, events: bool, after: int, limit: int, before: int | None = None) -> list[StoredRecord]:
        """Unsent records of one kind with seq in (after, before), oldest first."""
        upper = before if before is not None else 2**62
        with self._lock:
            if events:
                rows = self._conn.execute(
                    f"SELECT {SELECT_COLUMNS} FROM records INDEXED BY records_outbox_events"
                    " WHERE sent=0 AND kind=1 AND seq>? AND seq<? ORDER BY seq LIMIT ?",
                    (after, upper, limit),
                ).fetchall()
            else:
                rows = acks.pending_readings(self._conn, self._acked, SELECT_COLUMNS, after, upper, limit=limit)
        out: list[StoredRecord] = []
        for row in rows:
            try:
                out.append(from_row(tuple(row)))
            except Exception as exc:  # one bad row must not stop the ones behind it, whatever is wrong with it
                self.set_aside(int(row[0]), f"undecodable row: {type(exc).__name__}: {str(exc)[:200]}")
        return out

    def last_seq(self) -> int:
        with self._lock:
            return self._last_seq()

    @property
    def dropped_through(self) -> int:
        """The highest seq of an unsent reading dropped at the size bound since the store was opened (0: none).
        The oldest unsent readings go first, so none is left unsent at or below it but what came later. Read
        without the lock (one int): a reader in another thread sees it once the commit that dropped returned."""
        return self._dropped_through

    @property
    def events_written(self) -> int:
        """A count that grows with every commit that may have written an event (an event inserted, a record SQLite
        could not take, a record set aside), counted before its rows are written: a reader that takes the count, then
        reads the unsent events (after, in the store's thread) and finds none, knows that none is waiting while
        the count stays the same. Read without the lock (one int), as ``dropped_through``."""
        return self._events_written

    def stats(self) -> OutboxStats:
        with self._lock:
            if self._spare.ensure():  # space came back: hold the reserve again
                self._relax()
            return outbox.read_stats(self._conn, self._config.max_bytes, self._page_size, self._acked)

    # -- history -------------------------------------------------------------------------------

    def history(self, first: int, last: int, limit: int = 10_000) -> list[StoredRecord]:
        """Records with seq in [first, last] still held locally (sent or not)."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {SELECT_COLUMNS} FROM records WHERE seq BETWEEN ? AND ? AND sent<2 ORDER BY seq LIMIT ?",
                (first, last, limit),
            ).fetchall()
            ranges = self._acked
        out = [from_row(row) for row in rows]
        return [stored._replace(sent=True)
                if not stored.sent and not stored.is_event and acks.covering(ranges, stored.seq) else stored
                for stored in out]

    def iter_history(self, since: float, until: float,
                     selection: Selection = Selection()) -> Iterator[StoredRecord]:
        """Every record with a timestamp in [since, until) that ``selection`` takes, in sequence order, in pages
        (the store's lock is held for one page at a time)."""
        def fetch(after: int) -> list[tuple[Any, ...]]:
            with self._lock:
                return page(self._conn, since, until, selection, after)

        start = 0
        if selection.bisect:
            with self._lock:
                start = seq_floor(self._conn, since)
        return iterate(fetch, start)

    def prune(self, now: float) -> int:
        """Forget sent records older than the retention; return how many went."""
        cutoff = now - self._config.retention_days * _DAY
        with self._lock, database.transaction(self._conn) as conn:
            gone = conn.execute(f"DELETE FROM records WHERE ts<? AND (sent=1 OR {acks.COVERED_SQL})",
                                (cutoff,)).rowcount
            self._keep_floor()
        return int(gone)

    def _keep_floor(self) -> None:
        """Inside a transaction that deleted rows: when the newest went, note the last number handed out, so that
        it is never handed out again (the numbers come from the rows, see ``outbox.last_seq``)."""
        top = self._conn.execute("SELECT max(seq) FROM records").fetchone()[0]
        if int(top or 0) < self._last:
            self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                               (outbox.SEQ_FLOOR_KEY, self._last))

    # -- the size bound ------------------------------------------------------------------------

    def _used_bytes(self) -> int:
        return outbox.used_bytes(self._conn, self._page_size)

    def _keep_bound(self) -> None:
        used = self._used_bytes()
        if used > self._bound:
            self._free(used - int(self._bound * _LOW_WATER))

    def _insert_when_full(self, records: Sequence[Record], exc: sqlite3.OperationalError,
                          reported: Sequence[str] = ()) -> list[int]:
        """ENOSPC: give back the spare room, fold the WAL into the file, and retry.

        Even a checkpoint or a DELETE needs room, hence the reserve. When the reserve cannot be made again after
        the checkpoint, the disk is full of data, not of WAL: the bound is lowered to what fits (see ``_tighten``)
        while there is still room to drop the oldest readings.
        """
        log.error("store_disk_full", error=str(exc), records=len(records))
        self._spare.release()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if not self._spare.ensure():
                self._tighten()
            return self._insert(records, (), reported)
        except sqlite3.OperationalError as again:
            if not _is_full(again):
                raise
            raise StoreFullError(f"the disk is full and no routine data is left to drop: {again}") from again

    def _tighten(self) -> None:
        """The disk is full of data: hold the file at its present size (the oldest readings make room inside it,
        so a checkpoint never needs the file to grow) and keep the WAL short."""
        self._bound = min(self._bound, int(self._used_bytes() * _LOW_WATER))
        self._conn.execute(f"PRAGMA wal_autocheckpoint={_TIGHT_WAL_PAGES}")
        self._keep_bound()
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log.warning("store_bound_lowered", max_bytes=self._bound, reason="the disk is full")

    def _relax(self) -> None:
        """Room came back (the reserve could be made again): the configured bound and WAL size again."""
        if self._bound < self._config.max_bytes:
            self._bound = self._config.max_bytes
            self._conn.execute(f"PRAGMA wal_autocheckpoint={database.autocheckpoint_pages(self._page_size)}")
            log.info("store_bound_restored", max_bytes=self._bound)

    def _free(self, excess: int) -> None:
        """Delete sent history, then the oldest unsent routine readings; never events still unsent. One transaction:
        the count of readings dropped and the sequence floor commit with the deletions."""
        with database.transaction(self._conn):
            self._delete_oldest(excess)
            self._keep_floor()

    def _delete_oldest(self, excess: int) -> None:
        conn = self._conn
        rows = conn.execute("SELECT count(*) FROM records").fetchone()[0] or 1
        per_row = max(self._used_bytes() // rows, 16)
        wanted = max(excess // per_row, 1)
        gone = conn.execute(
            f"DELETE FROM records WHERE seq IN (SELECT seq FROM records WHERE sent>=1 OR {acks.COVERED_SQL}"
            " ORDER BY seq LIMIT ?)",
            (wanted,),
        ).rowcount
        if gone >= wanted:
            return
        oldest = acks.pending_readings(conn, self._acked, "seq", -1, 2**62, limit=wanted - gone)
        dropped = conn.execute(
            "DELETE FROM records WHERE seq IN (SELECT value FROM json_each(?))", (json.dumps([r[0] for r in oldest]),)
        ).rowcount
        if dropped:
            newest = oldest[-1][0]  # oldest first
            assert isinstance(newest, int)
            self._dropped_through = max(self._dropped_through, newest)
            self._bump("dropped", dropped)
            log.warning("store_dropped_oldest", dropped=dropped, reason="store at its size bound")

    def _bump(self, key: str, amount: int) -> None:
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=value+excluded.value",
            (key, amount),
        )



def _set_aside_event(seq: int, reason: str, ts: float, synced: bool) -> Event:
    return Event(kind=SET_ASIDE_EVENT, ts=ts, priority=Priority.WARNING,
                 message=f"record {seq} was set aside and will not be sent: {reason}",
                 data={"seq": seq, "reason": reason}, clock_synced=synced)


def _is_full(exc: sqlite3.OperationalError) -> bool:
    return "full" in str(exc).lower() or getattr(exc, "sqlite_errorcode", None) == 13


def _corrupt_alarm(moved: Path, result: database.OpenResult) -> Event:
    if moved == result.recovered_from:
        reason = result.problem or "unreadable"
        message = f"the store was unreadable and was moved aside to {moved}"
    else:
        reason = "found moved aside at start: the start that moved it was cut short before raising this alarm"
        message = f"an unreadable store was moved aside to {moved}"
    return Event(kind="store_corrupt", ts=0.0, priority=Priority.ALARM, message=message,
                 data={"reason": reason, "moved_to": str(moved)})
