"""The periods reports are cut into, in the site's time zone: nights (noon to noon), days and hours.

A night is named by its evening's date and runs from local noon to the next local noon, so it lasts 23 h on the
night the clocks go forward and 25 h on the night they go back. Days run from local midnight to midnight.
Everything is turned into Unix seconds at once; the arithmetic after that never meets a wall clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge_agent.frozen import frozen
from edge_agent.rules.programs import NOON, local_instant

MIDNIGHT = time(0, 0)


@frozen(slots=True)
class Span:
    """A named stretch of time: a night (``day`` is its evening) or a day; [start, end) in Unix seconds."""

    day: date
    start: float
    end: float

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 3600.0


def dates(first: date, last: date) -> list[date]:
    """Every date from ``first`` to ``last``, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def night(evening: date, zone: ZoneInfo) -> Span:
    return Span(evening, local_instant(evening, NOON, zone), local_instant(evening + timedelta(days=1), NOON, zone))


def day(when: date, zone: ZoneInfo) -> Span:
    return Span(when, local_instant(when, MIDNIGHT, zone), local_instant(when + timedelta(days=1), MIDNIGHT, zone))


def nights(first: date, last: date, zone: ZoneInfo) -> list[Span]:
    return [night(evening, zone) for evening in dates(first, last)]


def days(first: date, last: date, zone: ZoneInfo) -> list[Span]:
    return [day(when, zone) for when in dates(first, last)]


def local(ts: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts, zone)


def hour_of(ts: float, zone: ZoneInfo) -> tuple[date, int]:
    """The local date and hour (0-23) holding ``ts``; in the hour the clocks go back, both 02:00 hours are 2."""
    moment = local(ts, zone)
    return moment.date(), moment.hour


def iso_local(ts: float, zone: ZoneInfo) -> str:
    """Local time with its UTC offset, to the minute: ``2026-11-28T23:00+01:00``."""
    return local(ts, zone).isoformat(timespec="minutes")


def overlap(start: float, end: float, begin: float, finish: float) -> float:
    """Seconds [start, end) and [begin, finish) have in common."""
    return max(0.0, min(end, finish) - max(start, begin))
