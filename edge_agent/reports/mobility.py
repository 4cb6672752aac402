"""The mobility report, per counter: how many passed each hour and each day, the peak hours, and for parking
space sensors the occupancy rate.

Which points count (the convention of ``drivers/lorawan/README.md``), among the points that carry no unit:

- ``count_<what>`` or ``<what>_period_in|out``: passages since the device's previous report
  (``count_left_to_right``, ``count_a``, ``line_1_period_in``); a report is counted in the local hour it arrived in;
- ``total_<what>``, ``<what>_total`` or ``<what>_total_in|out``: a running total (``total_a``, ``vehicles_total``,
  ``line_1_total_in``), read only when the device gives no count for the same ``<what>``; what it grew by between
  two reports is counted in the hour of the later one, with resets and rollovers handled as for energy meters;
- ``<what>_in`` / ``<what>_out``: either, told apart by the readings: a total only grows (but for a reset now and
  then), counts of each report rise and fall (``people_in`` is the latter on a Milesight VS121, the former on the
  generic Modbus traffic counter);
- ``occupied``: a parking space sensor (true when a vehicle stands on it). A report holds until the next one, for
  at most three of the device's reporting intervals; the occupancy rate is the share of the known time it was
  occupied.

Only devices whose driver serves mobility (its ``DOMAIN``), or says nothing of it, are read: a door contact's
openings or a water meter's pulses are not passages.

The **peak hour** of a counter is the hour of the day with the most passages on average over the days of the
period; its **busiest hour** the single hour with the most.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import field
from datetime import date
from zoneinfo import ZoneInfo

from edge_agent.config.site import SiteConfig
from edge_agent.frozen import frozen
from edge_agent.reports.counters import Issue, track
from edge_agent.reports.devices import device_interval, serves
from edge_agent.reports.inputs import Inputs
from edge_agent.reports.period import Span, hour_of, overlap
from edge_agent.store.history import Selection

OCCUPIED = "occupied"
PATTERNS = ("count_*", "total_*", "*_total", "*_in", "*_out", OCCUPIED)
HOLD_INTERVALS = 3.0
COUNT_UNITS = (None, "", "count")

Hour = tuple[date, int]


@frozen
class Flow:
    """What one counting point of a device counted."""

    label: str
    point: str
    hourly: dict[Hour, int]
    issues: list[Issue] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.hourly.values())


@frozen
class CounterReport:
    device: str
    flows: list[Flow]
    occupancy: float | None  # share of the known time occupied (parking sensors)
    occupancy_by_hour: list[float | None]  # per hour of the day, 0-23
    occupancy_by_day: dict[date, float]
    occupied_known_h: float

    def hourly(self) -> dict[Hour, int]:
        """Every flow together, per hour."""
        out: dict[Hour, int] = defaultdict(int)
        for flow in self.flows:
            for hour, count in flow.hourly.items():
                out[hour] += count
        return dict(out)

    def daily(self) -> dict[date, int]:
        out: dict[date, int] = defaultdict(int)
        for (when, _), count in self.hourly().items():
            out[when] += count
        return dict(sorted(out.items()))

    @property
    def total(self) -> int:
        return sum(flow.total for flow in self.flows)

    def peak_hour(self, days: int) -> tuple[int, float] | None:
        """The hour of the day with the most passages on average, and that average."""
        by_hour: dict[int, int] = defaultdict(int)
        for (_, hour), count in self.hourly().items():
            by_hour[hour] += count
        if not by_hour or not any(by_hour.values()):
            return None
        hour = max(sorted(by_hour), key=lambda h: by_hour[h])
        return hour, by_hour[hour] / max(days, 1)

    def busiest(self) -> tuple[Hour, int] | None:
        hourly = self.hourly()
        if not hourly or not any(hourly.values()):
            return None
        hour = max(sorted(hourly), key=lambda h: hourly[h])
        return hour, hourly[hour]


@frozen
class MobilityReport:
    commune: str
    timezone: str
    days: list[Span]
    counters: list[CounterReport]
    not_good: int
    clock_unsynced: int

    @property
    def parking_occupancy(self) -> float | None:
        """All parking sensors together: the share of their known time occupied."""
        sensors = [c for c in self.counters if c.occupancy is not None]
        known = sum(c.occupied_known_h for c in sensors)
        if not known:
            return None
        return sum((c.occupancy or 0.0) * c.occupied_known_h for c in sensors) / known


def selection() -> Selection:
    return Selection(points=PATTERNS, events=(), bisect=True, units=("", "count"))


def read_span(days: Sequence[Span]) -> tuple[float, float]:
    """The history a report of these days reads: a day before, for the running totals' first step."""
    return days[0].start - 86_400.0, days[-1].end


def label_of(point: str) -> tuple[str, str] | None:
    """(kind, what) of a counting point: kind "count" (since the previous report), "total" (a running total) or
    "either" (``<what>_in`` / ``<what>_out``, told apart by its readings); None for other points."""
    if "." in point:  # configuration read-backs, alarm flags, per-driver points: never counts
        return None
    for prefix, kind in (("count_", "count"), ("total_", "total")):
        if point.startswith(prefix) and len(point) > len(prefix):
            return kind, point[len(prefix):]
    for way in ("_in", "_out"):
        if point.endswith("_period" + way) and len(point) > len("_period" + way):
            return "count", point[: -len("_period" + way)] + way
        if point.endswith("_total" + way) and len(point) > len("_total" + way):
            return "total", point[: -len("_total" + way)] + way
        if point.endswith(way) and len(point) > len(way):
            return "either", point
    if point.endswith("_total") and len(point) > len("_total"):
        return "total", point[: -len("_total")]
    return None


def grows(samples: Sequence[tuple[float, float]]) -> bool:
    """Whether readings only grow (but for a reset now and then): a running total, not counts of each report."""
    falls = sum(1 for before, after in itertools.pairwise(samples) if after[1] < before[1])
    return falls <= max(1, len(samples) // 50)


def report(config: SiteConfig, inputs: Inputs, days: Sequence[Span], devices: Sequence[str] | None = None
           ) -> MobilityReport:
    zone = ZoneInfo(config.site.timezone)
    start, end = days[0].start, days[-1].end
    names = sorted({device for device, point in inputs.series
                    if label_of(point) is not None or point == OCCUPIED})
    names = [name for name in names if serves(config, name, "mobility")]  # not a door's or a water meter's counts
    out = []
    for name in names:
        if devices is not None and name not in devices:
            continue
        flows = _flows(inputs, name, start, end, zone)
        occupancy = _occupancy(config, inputs, name, days, zone)
        if flows or occupancy is not None:
            out.append(occupancy_report(name, flows, occupancy))
    return MobilityReport(config.site.commune, config.site.timezone, list(days), out, inputs.not_good,
                          inputs.clock_unsynced)


def occupancy_report(name: str, flows: list[Flow], occupancy: _Occupancy | None) -> CounterReport:
    if occupancy is None:
        return CounterReport(name, flows, None, [None] * 24, {}, 0.0)
    return CounterReport(name, flows, occupancy.rate, occupancy.by_hour, occupancy.by_day, occupancy.known_h)


def _flows(inputs: Inputs, device: str, start: float, end: float, zone: ZoneInfo) -> list[Flow]:
    counts: dict[str, str] = {}
    totals: dict[str, str] = {}
    for point in inputs.points_of(device):
        found = label_of(point)
        if found is None or inputs.units.get((device, point)) not in COUNT_UNITS or _booleans(inputs, device, point):
            continue
        kind, what = found
        if kind == "either":
            kind = "total" if grows(inputs.numbers((device, point))) else "count"
        (counts if kind == "count" else totals)[what] = point
    flows = []
    for what, point in sorted(counts.items()):
        hourly: dict[Hour, int] = defaultdict(int)
        for ts, value in inputs.numbers((device, point)):
            if start <= ts < end:
                hourly[hour_of(ts, zone)] += round(value)
        flows.append(Flow(what, point, dict(hourly)))
    for what, point in sorted(totals.items()):
        if what in counts:
            continue
        samples = inputs.numbers((device, point))
        counted = track(samples, max_gap_s=math.inf)
        hourly = defaultdict(int)
        for index in range(1, len(counted.times)):
            ts = counted.times[index]
            if start <= ts < end:
                hourly[hour_of(ts, zone)] += round(counted.totals[index] - counted.totals[index - 1])
        flows.append(Flow(what, point, dict(hourly), counted.issues_in(start, end)))
    return flows


def _booleans(inputs: Inputs, device: str, point: str) -> bool:
    return any(isinstance(value, bool) for _, value in inputs.series.get((device, point), ())[:5])


@frozen
class _Occupancy:
    rate: float | None
    by_hour: list[float | None]
    by_day: dict[date, float]
    known_h: float


class _Tally:
    """Seconds known and occupied, per hour of the day and per date."""

    def __init__(self) -> None:
        self.hours = [[0.0, 0.0] for _ in range(24)]  # [known, occupied]
        self.days: dict[date, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def add(self, begin: float, finish: float, occupied: bool, zone: ZoneInfo) -> None:
        cursor = begin
        while cursor < finish:
            when, hour = hour_of(cursor, zone)
            boundary = min(finish, (math.floor(cursor / 3600.0) + 1) * 3600.0)  # the zones here are whole hours off UTC
            for cell in (self.hours[hour], self.days[when]):
                cell[0] += boundary - cursor
                cell[1] += (boundary - cursor) if occupied else 0.0
            cursor = boundary


def _occupancy(config: SiteConfig, inputs: Inputs, device: str, days: Sequence[Span],
               zone: ZoneInfo) -> _Occupancy | None:
    samples = inputs.numbers((device, OCCUPIED))
    if not samples:
        return None
    hold = HOLD_INTERVALS * device_interval(config, device)
    start, end = days[0].start, days[-1].end
    tally = _Tally()
    for index, (ts, value) in enumerate(samples):
        until = min(samples[index + 1][0] if index + 1 < len(samples) else math.inf, ts + hold)
        if overlap(ts, until, start, end) > 0:
            tally.add(max(ts, start), min(until, end), bool(value), zone)
    known = sum(cell[0] for cell in tally.hours)
    return _Occupancy(
        rate=sum(cell[1] for cell in tally.hours) / known if known else None,
        by_hour=[occupied / seen if seen else None for seen, occupied in tally.hours],
        by_day={when: occupied / seen for when, (seen, occupied) in sorted(tally.days.items()) if seen},
        known_h=known / 3600.0,
    )
