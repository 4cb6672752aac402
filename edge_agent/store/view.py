"""A read-only view of a store file: what the CLI, the web page and the agent's own readers ask of it.

Safe beside a running agent: the view has its own read-only connection and never takes the writer's lock (in
rollback mode, ``store.journal = "rollback"``, a commit waits for the question being answered).
Every question is a typed method; the SQL stays in the store's modules.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from edge_agent.reading import Event
from edge_agent.store import history, outbox, series
from edge_agent.store.outbox import OutboxStats
from edge_agent.store.rows import KIND_EVENT, KIND_READING, SELECT_COLUMNS, StoredRecord, from_row
from edge_agent.store.series import Bucket, StoreUnreadable

FCNT_POINT = "lorawan.f_cnt"  # the reading that carries a LoRaWAN device's frame counter
_IN_LIST = 500  # sequence numbers bound in one IN (...): well under SQLite's limit on variables
_FCNT_WINDOW = 200_000  # records looked back over for frame counters: a primary-key range, cheap on a large store


class StoreView:
    """One read-only connection to a store file (``series.open_reader``); close it, or use it as a context."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, db: Path) -> StoreView:
        """StoreUnreadable in plain words when the store is missing or cannot be read."""
        return cls(series.open_reader(db))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StoreView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the outbox and the sequence -----------------------------------------------------------

    def outbox(self, max_bytes: int) -> OutboxStats:
        """The same figures as the running store's ``stats``."""
        return outbox.read_stats(self._conn, max_bytes)

    def last_seq(self) -> int:
        """The highest sequence number held (0 when none is)."""
        row = self._conn.execute("SELECT max(seq) FROM records").fetchone()
        return int(row[0] or 0)

    def after(self, seq: int, device: str | None = None, limit: int = 1000) -> list[StoredRecord]:
        """Records committed after ``seq`` (of one device if given), oldest first."""
        rows = self._conn.execute(
            f"SELECT {SELECT_COLUMNS} FROM records WHERE seq>? AND (? IS NULL OR device=?) ORDER BY seq LIMIT ?",
            (seq, device, device, limit),
        ).fetchall()
        return [from_row(row) for row in rows]

    def latest_readings(self, window: int) -> tuple[list[StoredRecord], dict[str, float]]:
        """Among the last ``window`` sequence numbers: the latest reading of each device's point (by sequence),
        oldest first, and each device's latest reading time. SQLite finds them; only those rows are read, so a
        day of a commune's rows is never turned into records in Python."""
        floor = outbox.last_seq(self._conn) - window
        groups = self._conn.execute(
            "SELECT device, max(seq), max(ts) FROM records WHERE seq>? AND kind=? GROUP BY device, point",
            (floor, KIND_READING)).fetchall()
        seen: dict[str, float] = {}
        for device, _, ts in groups:
            seen[device] = max(seen.get(device, ts), ts)
        seqs = sorted(seq for _, seq, _ in groups)
        latest: list[StoredRecord] = []
        for start in range(0, len(seqs), _IN_LIST):
            chunk = seqs[start:start + _IN_LIST]
            latest += map(from_row, self._conn.execute(
                f"SELECT {SELECT_COLUMNS} FROM records WHERE seq IN ({','.join('?' * len(chunk))}) ORDER BY seq",
                chunk))
        return latest, seen

    def last_commit_ts(self) -> float | None:
        """The timestamp of the last record committed; None when there is none."""
        row = self._conn.execute("SELECT ts FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return float(row[0]) if row else None

    def last_event_ts(self, kind: str) -> float | None:
        """When the latest event of this kind was stamped; None when there is none."""
        row = self._conn.execute(
            "SELECT max(ts) FROM records WHERE kind = ? AND point = ?", (KIND_EVENT, kind)).fetchone()
        return None if row[0] is None else float(row[0])

    def last_frame_counters(self, window: int = _FCNT_WINDOW) -> dict[str, int]:
        """Device name → the last LoRaWAN frame counter stored among the last ``window`` records.

        An uplink committed but not yet acknowledged to ChirpStack's broker when the agent stopped is delivered
        again after the restart; its frame counter equals the last one stored, so the counters seeded from here
        let the LoRaWAN intake drop it instead of storing it twice."""
        floor = outbox.last_seq(self._conn) - window
        rows = self._conn.execute(
            "SELECT device, value FROM records WHERE seq > ? AND point = ? ORDER BY seq", (floor, FCNT_POINT)
        ).fetchall()
        return {str(device): int(value) for device, value in rows if isinstance(value, int | float)}

    # -- history -------------------------------------------------------------------------------

    def count_range(self, since: float, until: float, selection: history.Selection = history.Selection()) -> int:
        return history.count_range(self._conn, since, until, selection)

    def iter_range(self, since: float, until: float,
                   selection: history.Selection = history.Selection()) -> Iterator[StoredRecord]:
        """Records with ``ts`` in [since, until) that the selection takes, in sequence order, read in pages."""
        return history.iter_range(self._conn, since, until, selection)

    def point_series(self, device: str, point: str, since: float, until: float, *, buckets: int) -> list[Bucket]:
        return series.point_series(self._conn, device, point, since, until, buckets=buckets)

    def recent_events(self, since: float, limit: int = 50, device: str | None = None) -> list[tuple[int, Event]]:
        return series.recent_events(self._conn, since, limit, device)


def last_frame_counters(db: Path, window: int = _FCNT_WINDOW) -> dict[str, int]:
    """Device name → last frame counter stored; empty when the store is missing or unreadable."""
    try:
        with StoreView.open(db) as view:
            return view.last_frame_counters(window)
    except (StoreUnreadable, sqlite3.Error):
        return {}


def integrity(db: Path) -> str:
    """SQLite's quick check of the file, read-only: ``ok`` or what is damaged. StoreUnreadable if it cannot run."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn:
            return str(conn.execute("PRAGMA quick_check").fetchone()[0])
    except sqlite3.Error as exc:
        raise StoreUnreadable(f"cannot read {db}: {exc}") from exc


def agent_activity(db: Path, start_event: str) -> tuple[float | None, float | None]:
    """When the agent last started (its ``start_event``) and last committed, read from the store.
    StoreUnreadable when the store is missing or cannot be read."""
    try:
        with StoreView.open(db) as view:
            return view.last_event_ts(start_event), view.last_commit_ts()
    except sqlite3.Error as exc:
        raise StoreUnreadable(f"cannot read the store {db}: {exc}") from exc
