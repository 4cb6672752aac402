"""Where each device's frame counter stood when the agent last stopped, read back from the store.

An uplink committed locally but not yet acknowledged to ChirpStack's broker when the agent died is delivered
again after the restart, under a new deduplicationId memory. Its frame counter equals the last one stored for
that device: seeding the counters from the store lets the ingest drop it instead of storing it twice.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

FCNT_POINT = "lorawan.f_cnt"
_WINDOW = 200_000  # records looked back over: a primary-key range, cheap even on a large store


def last_frame_counters(store: Path, window: int = _WINDOW) -> dict[str, int]:
    """Device name → last frame counter stored; empty when the store is missing or unreadable."""
    if not store.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return {}
    try:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='records'").fetchone()
        floor = (int(row[0]) if row else 0) - window
        rows = conn.execute(
            "SELECT device, value FROM records WHERE seq > ? AND point = ? ORDER BY seq", (floor, FCNT_POINT)
        ).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    return {str(device): int(value) for device, value in rows if isinstance(value, int | float)}
