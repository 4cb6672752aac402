"""Looking back in the store: a point's values over a day (``history``) and the latest events (``events``).

The running agent answers from a read-only connection of its own, in a thread: a long read never holds up the
writer. With the agent stopped, the same queries and replies run on the store directly (``*_reply``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from edge_agent.control.protocol import RequestFailed, ok, reply_record_json
from edge_agent.frozen import frozen
from edge_agent.store import series
from edge_agent.store.view import StoreView

if TYPE_CHECKING:
    from edge_agent.control.context import ControlContext, Reply

T = TypeVar("T")

DAY_S = 86_400.0
MAX_SPAN_S = 31 * DAY_S
MAX_EVENTS = 200


def _number(args: dict[str, Any], key: str, default: float) -> float:
    value = args.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RequestFailed(f"'{key}' is a number, not {value!r}")
    return float(value)


def _name(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise RequestFailed(f"'{key}' is missing")
    return value


@frozen
class HistoryQuery:
    device: str
    point: str
    since: float
    until: float
    buckets: int

    @classmethod
    def parse(cls, args: dict[str, Any], now: float) -> HistoryQuery:
        """From a request: ``device``, ``point``, and optionally ``since``/``until`` (Unix s) and ``buckets``."""
        until = _number(args, "until", now)
        since = _number(args, "since", until - DAY_S)
        if not 0 < until - since <= MAX_SPAN_S:
            raise RequestFailed(f"'since' must come before 'until', at most {MAX_SPAN_S / DAY_S:.0f} days before")
        buckets = int(_number(args, "buckets", 288))
        if not 1 <= buckets <= series.MAX_BUCKETS:
            raise RequestFailed(f"'buckets' is from 1 to {series.MAX_BUCKETS}, not {buckets}")
        return cls(_name(args, "device"), _name(args, "point"), since, until, buckets)


@frozen
class EventsQuery:
    since: float
    limit: int
    device: str | None

    @classmethod
    def parse(cls, args: dict[str, Any], now: float) -> EventsQuery:
        """From a request: optionally ``since`` (default: a day ago), ``limit`` and ``device``."""
        limit = int(_number(args, "limit", 50))
        if not 1 <= limit <= MAX_EVENTS:
            raise RequestFailed(f"'limit' is from 1 to {MAX_EVENTS}, not {limit}")
        device = args.get("device")
        if device is not None and not isinstance(device, str):
            raise RequestFailed(f"'device' is a name, not {device!r}")
        return cls(_number(args, "since", now - DAY_S), limit, device)


def history_reply(view: StoreView, query: HistoryQuery) -> Reply:
    buckets = view.point_series(query.device, query.point, query.since, query.until, buckets=query.buckets)
    return ok(device=query.device, point=query.point, since=query.since, until=query.until,
              step=(query.until - query.since) / query.buckets,
              buckets=[[b.ts, round(b.mean, 6), b.low, b.high, b.count] for b in buckets])


def events_reply(view: StoreView, query: EventsQuery) -> Reply:
    return ok(events=[reply_record_json(event, seq)
                      for seq, event in view.recent_events(query.since, query.limit, query.device)])


def _read(path: Path, question: Callable[[StoreView], T]) -> T:
    with StoreView.open(path) as view:
        return question(view)


async def history(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    query = HistoryQuery.parse(args, time.time())
    names = [d.name for d in ctx.config.devices]
    if query.device not in names:
        raise RequestFailed(f"no device named '{query.device}'; devices: {', '.join(names) or '(none)'}")
    return await asyncio.to_thread(_read, ctx.config.store.path, lambda view: history_reply(view, query))


async def events(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    query = EventsQuery.parse(args, time.time())
    return await asyncio.to_thread(_read, ctx.config.store.path, lambda view: events_reply(view, query))
