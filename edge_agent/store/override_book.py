"""The lighting overrides in force, kept in the store's SQLite file so that a reboot does not end them early.

Its own table and its own connection, like the command log. An override is saved with its wall-clock end when the
clock was synchronised as it was set; the rules engine works out what is left of it when it starts again.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from edge_agent.errors import EdgeAgentError
from edge_agent.frozen import frozen
from edge_agent.store.journal import follow_journal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lighting_overrides (
    grp TEXT PRIMARY KEY,
    level INTEGER NOT NULL,
    duration_s REAL,
    ends_at REAL,
    set_at REAL NOT NULL,
    source TEXT NOT NULL
);
"""


class OverrideBookError(EdgeAgentError):
    """The book cannot be opened, read or written (SQLite's reason in the message)."""


@contextlib.contextmanager
def _plain_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise OverrideBookError(str(exc)) from exc


@frozen(slots=True)
class SavedOverride:
    group: str
    level: int
    duration_s: float | None  # None: until cleared
    ends_at: float | None  # wall-clock end; None when until cleared or set before the clock was synchronised
    set_at: float
    source: str


class OverrideBook:
    """Group -> the override saved for it; one row per group at most. Raises OverrideBookError."""

    def __init__(self, path: Path) -> None:
        with _plain_errors():
            self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA synchronous=FULL")
            follow_journal(self._conn)
            self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def load(self) -> list[SavedOverride]:
        with self._lock, _plain_errors():
            return _saved(self._conn)

    def save(self, override: SavedOverride) -> None:
        with self._lock, _plain_errors():
            self._conn.execute(
                "INSERT OR REPLACE INTO lighting_overrides(grp, level, duration_s, ends_at, set_at, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (override.group, override.level, override.duration_s, override.ends_at, override.set_at,
                 override.source))

    def delete(self, group: str) -> None:
        with self._lock, _plain_errors():
            self._conn.execute("DELETE FROM lighting_overrides WHERE grp = ?", (group,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def read_saved(path: Path) -> list[SavedOverride]:
    """The saved overrides read without writing (the CLI, beside a running agent); none when no store or table."""
    if not path.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
            return _saved(conn)
    except sqlite3.Error:  # no table yet: no override was ever set
        return []


def _saved(conn: sqlite3.Connection) -> list[SavedOverride]:
    rows = conn.execute(
        "SELECT grp, level, duration_s, ends_at, set_at, source FROM lighting_overrides ORDER BY grp").fetchall()
    return [SavedOverride(str(r[0]), int(r[1]), r[2], r[3], float(r[4]), str(r[5])) for r in rows]
