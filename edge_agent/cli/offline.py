"""The store read directly, read-only, when the agent does not run (safe beside a running agent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge_agent.cli.output import fail
from edge_agent.control.facts import outbox_json
from edge_agent.control.protocol import reply_record_json
from edge_agent.store import history
from edge_agent.store.rows import StoredRecord
from edge_agent.store.series import StoreUnreadable
from edge_agent.store.view import StoreView

RECENT_ROWS = 50_000  # how far back the last values of each device are looked for


def connect(db: Path) -> StoreView:
    """A read-only view; a plain error (and exit) if the store does not exist or cannot be opened."""
    try:
        return StoreView.open(db)
    except StoreUnreadable as exc:
        fail(str(exc))


def outbox(view: StoreView, max_bytes: int) -> dict[str, Any]:
    """The same figures as the agent's ``queue`` reply."""
    return outbox_json(view.outbox(max_bytes))


def last_values(view: StoreView) -> dict[str, dict[str, Any]]:
    """Per device: last seen and the last value of each point, from the most recent rows."""
    latest, seen = view.latest_readings(RECENT_ROWS)
    devices: dict[str, dict[str, Any]] = {}
    for stored in latest:
        item = reply_record_json(stored.record)
        entry = devices.setdefault(item["device"], {"last_seen": seen[item["device"]], "values": {}})
        entry["values"][item["point"]] = {k: item[k] for k in ("value", "unit", "quality", "ts")}
    return devices


def after(view: StoreView, seq: int, device: str | None, limit: int = 1000) -> list[dict[str, Any]]:
    """Records committed after ``seq`` (for ``tail`` without the agent's socket)."""
    return [reply_record_json(stored.record, stored.seq) for stored in view.after(seq, device, limit)]


def _selection(device: str | None, readings_only: bool) -> history.Selection:
    return history.Selection(device=device, events=() if readings_only else None)


def count_range(view: StoreView, since: float, until: float, device: str | None, readings_only: bool) -> int:
    return view.count_range(since, until, _selection(device, readings_only))


def iter_range(view: StoreView, since: float, until: float, device: str | None,
               readings_only: bool) -> Iterator[StoredRecord]:
    """Records with ``ts`` in [since, until), in sequence order, read in pages."""
    return view.iter_range(since, until, _selection(device, readings_only))
