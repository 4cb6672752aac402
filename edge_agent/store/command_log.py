"""The answers given to recent command requests, kept in the store's SQLite file so that a request repeated
after a restart is answered again and not executed twice. Its own table and its own connection."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from edge_agent.store.journal import follow_journal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS command_answers (
    id TEXT PRIMARY KEY,
    at REAL NOT NULL,
    response BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS command_answers_at ON command_answers(at);
"""


class CommandLog:
    """Request id -> the response bytes sent for it; bounded to the ``keep`` most recent."""

    def __init__(self, path: Path, keep: int) -> None:
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA synchronous=FULL")
        follow_journal(self._conn)
        self._conn.executescript(_SCHEMA)
        self._keep = keep
        self._lock = threading.Lock()

    def recent(self) -> list[tuple[str, bytes]]:
        """The remembered answers, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, response FROM (SELECT id, response, at FROM command_answers ORDER BY at DESC LIMIT ?)"
                " ORDER BY at", (self._keep,)).fetchall()
        return [(str(row[0]), bytes(row[1])) for row in rows]

    def put(self, request_id: str, at: float, response: bytes) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO command_answers(id, at, response) VALUES (?, ?, ?)",
                               (request_id, at, response))
            self._conn.execute(
                "DELETE FROM command_answers WHERE id NOT IN"
                " (SELECT id FROM command_answers ORDER BY at DESC LIMIT ?)", (self._keep,))

    def last_readings(self, device: str, window: int = 5000) -> list[dict[str, Any]]:
        """The latest value of each point of ``device`` among the newest ``window`` records."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT point, value, vtype, unit, quality, ts, synced, max(seq) FROM records"
                " WHERE kind=0 AND device=? AND seq > (SELECT coalesce(max(seq), 0) FROM records) - ?"
                " GROUP BY point ORDER BY point", (device, window)).fetchall()
        return [{"point": r[0], "value": bool(r[1]) if r[2] == "b" else r[1], "unit": r[3], "quality": r[4],
                 "ts": r[5], "clock_synced": bool(r[6]), "seq": r[7]} for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
