"""When the daily ``reports`` message is due, and how it is named: what the agent checks every minute, apart from
the code that composes the message (``daily.py``, run in a process of its own, ``process.py``: the daemon never
holds the reports' code).

The report of day D is due at ``reports.daily_at`` (12:30 by default) on D+1; see ``daily.py``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.config.site import SiteConfig
from edge_agent.reports import period
from edge_agent.sync.payloads import REPORT_EVENT

KIND = REPORT_EVENT


def due_day(now: float, config: SiteConfig) -> date:
    """The latest day whose report is due at ``now``."""
    moment = period.local(now, ZoneInfo(config.site.timezone))
    late = moment.time() >= config.reports.daily_at
    return moment.date() - timedelta(days=1 if late else 2)


def days_due(now: float, config: SiteConfig, done_through: date | None) -> list[date]:
    """The days to report now, oldest first: after ``done_through``, at most ``catch_up_days`` back."""
    last = due_day(now, config)
    first = last - timedelta(days=config.reports.catch_up_days)
    if done_through is not None:
        first = max(first, done_through + timedelta(days=1))
    return period.dates(first, last) if first <= last else []


def message(day: date) -> str:
    return f"daily report of {day.isoformat()}"


def reported_day(data: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(data.get("day")))
    except ValueError:
        return None
