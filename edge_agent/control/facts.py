"""Facts shared by the live (socket) and the offline (store) side: outbox figures, disk space, device rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_agent.store.outbox import OutboxStats


def outbox_json(stats: OutboxStats) -> dict[str, Any]:
    return {"backlog": stats.backlog, "pending_readings": stats.pending_readings,
            "pending_events": stats.pending_events, "oldest_pending_ts": stats.oldest_pending_ts,
            "last_seq": stats.last_seq, "dropped": stats.dropped, "set_aside": stats.set_aside,
            "used_bytes": stats.used_bytes, "max_bytes": stats.max_bytes}


def disk_json(store_path: Path) -> dict[str, Any]:
    """Free space where the store lives (its directory, or the nearest existing parent)."""
    where = store_path.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    import shutil  # a technician's question: shutil (with bz2 and lzma) is not held by the daemon for it

    try:
        usage = shutil.disk_usage(where)
    except OSError as exc:
        return {"path": str(where), "error": exc.strerror or str(exc)}
    return {"path": str(where), "free_bytes": usage.free, "total_bytes": usage.total}


def merge_device(row: dict[str, Any], *, last_seen: float | None, values: dict[str, Any], online: bool | None,
                 errors: int, last_error: str | None) -> dict[str, Any]:
    return {**row, "online": online, "last_seen": last_seen, "values": values, "errors": errors,
            "last_error": last_error}
