"""The store read directly, read-only, when the agent does not run (safe beside a running agent: WAL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge_agent.cli.output import fail
from edge_agent.control.protocol import record_json
from edge_agent.store import acks, history
from edge_agent.store.rows import KIND_EVENT, KIND_READING, SELECT_COLUMNS, StoredRecord, from_row
from edge_agent.store.series import StoreUnreadable, open_reader

RECENT_ROWS = 50_000  # how far back the last values of each device are looked for


def connect(db: Path) -> sqlite3.Connection:
    """A read-only connection; a plain error (and exit) if the store does not exist or cannot be opened."""
    try:
        return open_reader(db)
    except StoreUnreadable as exc:
        fail(str(exc))


def _counter(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return int(row[0]) if row else 0


def outbox(conn: sqlite3.Connection, max_bytes: int) -> dict[str, Any]:
    """The same figures as the agent's ``queue`` reply."""
    readings, oldest = acks.count_pending_readings(conn, acks.load(conn))
    events = conn.execute("SELECT count(*) FROM records WHERE sent=0 AND kind=?", (KIND_EVENT,)).fetchone()[0]
    last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='records'").fetchone()
    pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    events = int(events)
    return {"backlog": readings + events, "pending_readings": readings, "pending_events": events,
            "oldest_pending_ts": oldest, "last_seq": int(last[0]) if last else 0,
            "dropped": _counter(conn, "dropped"), "set_aside": _counter(conn, "set_aside"),
            "used_bytes": int(pages * page_size), "max_bytes": max_bytes}


def last_values(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Per device: last seen and the last value of each point, from the most recent rows."""
    last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='records'").fetchone()
    floor = (int(last[0]) if last else 0) - RECENT_ROWS
    rows = conn.execute(
        f"SELECT {SELECT_COLUMNS} FROM records WHERE seq>? AND kind=? ORDER BY seq", (floor, KIND_READING)
    ).fetchall()
    devices: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = record_json(from_row(row).record)
        entry = devices.setdefault(item["device"], {"last_seen": None, "values": {}})
        entry["last_seen"] = max(entry["last_seen"] or 0.0, item["ts"])
        entry["values"][item["point"]] = {k: item[k] for k in ("value", "unit", "quality", "ts")}
    return devices


def after(conn: sqlite3.Connection, seq: int, device: str | None, limit: int = 1000) -> list[dict[str, Any]]:
    """Records committed after ``seq`` (for ``tail`` without the agent's socket)."""
    rows = conn.execute(
        f"SELECT {SELECT_COLUMNS} FROM records WHERE seq>? AND (? IS NULL OR device=?) ORDER BY seq LIMIT ?",
        (seq, device, device, limit),
    ).fetchall()
    return [record_json(stored.record, stored.seq) for stored in map(from_row, rows)]


def last_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(seq) FROM records").fetchone()
    return int(row[0] or 0)


def _selection(device: str | None, readings_only: bool) -> history.Selection:
    return history.Selection(device=device, events=() if readings_only else None)


def count_range(conn: sqlite3.Connection, since: float, until: float, device: str | None, readings_only: bool) -> int:
    return history.count_range(conn, since, until, _selection(device, readings_only))


def iter_range(conn: sqlite3.Connection, since: float, until: float, device: str | None,
               readings_only: bool) -> Iterator[StoredRecord]:
    """Records with ``ts`` in [since, until), in sequence order, read in pages."""
    return history.iter_range(conn, since, until, _selection(device, readings_only))
