"""The waste report, per bin: fill level over time, how fast it fills, when it was emptied, how long it stood full
or overflowing, when it will be full, and which bins to collect tomorrow.

A bin is a device that reports ``fill_level`` (percent; the codecs compute it from the distance and the bin's
geometry) and whose driver serves waste (or says nothing of it: a water tank's level is not a bin's), or a LoRaWAN
device whose config gives a ``bin``. With the thresholds of ``[reports.waste]``:

- a **collection** is a fall of at least ``collection_drop`` points between two readings;
- a reading's level holds until the next reading, for at most three of the device's reporting intervals
  (after that the level is unknown); **hours full** are the hours at or above ``collect_at``, **hours
  overflowing** at or above ``overflow_at``;
- the **fill rate** is the rise between collections divided by the time it took, in points a day; a bin at 100 %
  can rise no further, so the time it then stands full until its collection is not counted;
- the **predicted date** the bin reaches ``collect_at``: its last level carried on at that rate;
- the bins **to collect** on a day are those already at ``collect_at``, or predicted to reach it before the day ends.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from edge_agent.config.site import SiteConfig
from edge_agent.frozen import frozen
from edge_agent.reports.devices import device_interval, device_position, serves
from edge_agent.reports.inputs import Inputs
from edge_agent.reports.period import day, local, overlap
from edge_agent.store.history import Selection

POINT = "fill_level"
DAY = 86_400.0
LOOKBACK_S = 3 * DAY  # readings before the period: the level at its start, and the current fill segment
HOLD_INTERVALS = 3.0
FULL_SCALE = 100.0  # the highest level a bin's sensor reports


@frozen
class Collection:
    ts: float  # the first reading after the fall
    before: float
    after: float


@frozen
class BinReport:
    device: str
    latitude: float | None
    longitude: float | None
    readings: int
    last_fill: float | None
    last_ts: float | None
    fill_rate_per_day: float | None
    collections: list[Collection]
    hours_full: float
    hours_overflowing: float
    hours_unknown: float
    full_since: float | None  # reached collect_at and still there at the last reading
    predicted_full: float | None  # when it reaches collect_at (None: not rising, or already there)
    to_collect: bool
    series: list[tuple[float, float]] = field(default_factory=list)


@frozen
class WasteReport:
    commune: str
    timezone: str
    start: float
    end: float
    collect_on: date
    collect_at: float
    overflow_at: float
    bins: list[BinReport]
    not_good: int
    clock_unsynced: int

    @property
    def to_collect(self) -> list[BinReport]:
        return [b for b in self.bins if b.to_collect]


def selection() -> Selection:
    return Selection(points=(POINT,), events=(), bisect=True)


def read_span(start: float, as_of: float) -> tuple[float, float]:
    return start - LOOKBACK_S, as_of + 1.0


def bins(config: SiteConfig, inputs: Inputs) -> list[str]:
    configured = [d.name for d in config.devices if getattr(d, "bin", None) is not None]
    seen = sorted(device for device, point in inputs.series if point == POINT and serves(config, device, "waste"))
    return list(dict.fromkeys(configured + seen))


def report(config: SiteConfig, inputs: Inputs, start: float, end: float, *, as_of: float | None = None,
           collect_on: date | None = None, devices: Sequence[str] | None = None) -> WasteReport:
    """Statistics over [start, end); predictions from the readings up to ``as_of`` (default: ``end``); the bins
    to collect on ``collect_on`` (default: the day after ``as_of``, local time)."""
    settings, zone = config.reports.waste, ZoneInfo(config.site.timezone)
    as_of = end if as_of is None else as_of
    collect_on = collect_on or local(as_of - 1.0, zone).date() + timedelta(days=1)
    deadline = day(collect_on, zone).end
    out = []
    for name in bins(config, inputs):
        if devices is not None and name not in devices:
            continue
        # A fill level outside 0-100 % is none: the codecs make such values BAD points, and a source that does
        # not (a simulated or ChirpStack-decoded device) must not put it in a report.
        samples = [(ts, value) for ts, value in inputs.numbers((name, POINT)) if ts <= as_of and 0.0 <= value <= 100.0]
        out.append(_bin(config, name, samples, start, end, deadline=deadline))
    return WasteReport(config.site.commune, config.site.timezone, start, end, collect_on, settings.collect_at,
                       settings.overflow_at, out, inputs.not_good, inputs.clock_unsynced)


def _bin(config: SiteConfig, name: str, samples: list[tuple[float, float]], start: float, end: float, *,
         deadline: float) -> BinReport:
    settings = config.reports.waste
    position = device_position(config, name)
    hold = HOLD_INTERVALS * device_interval(config, name)
    inside = [(ts, v) for ts, v in samples if start <= ts < end]
    collections = [Collection(b[0], a[1], b[1]) for a, b in itertools.pairwise(samples)
                   if start <= b[0] < end and a[1] - b[1] >= settings.collection_drop]
    full, overflowing, unknown = _hours(samples, start, end, hold=hold, full_at=settings.collect_at,
                                         overflow_at=settings.overflow_at)
    rate = _rate(samples, start, settings.collection_drop)
    last_ts, last = samples[-1] if samples else (None, None)
    full_since = _full_since(samples, settings.collect_at, settings.collection_drop)
    predicted = None
    if last is not None and last_ts is not None and last < settings.collect_at and rate:
        predicted = last_ts + (settings.collect_at - last) / rate * DAY
    due = full_since is not None or (predicted is not None and predicted < deadline)
    return BinReport(
        device=name, latitude=position.latitude if position else None,
        longitude=position.longitude if position else None, readings=len(inside), last_fill=last, last_ts=last_ts,
        fill_rate_per_day=rate, collections=collections, hours_full=full, hours_overflowing=overflowing,
        hours_unknown=unknown, full_since=full_since, predicted_full=predicted, to_collect=due, series=inside,
    )


def _hours(samples: Sequence[tuple[float, float]], start: float, end: float, *, hold: float, full_at: float,
           overflow_at: float) -> tuple[float, float, float]:
    """Hours at or above ``full_at`` and ``overflow_at`` in [start, end), and hours with no level known."""
    full = overflowing = known = 0.0
    for index, (ts, value) in enumerate(samples):
        until = samples[index + 1][0] if index + 1 < len(samples) else math.inf
        until = min(until, ts + hold)
        seconds = overlap(ts, until, start, end)
        known += seconds
        if value >= full_at:
            full += seconds
        if value >= overflow_at:
            overflowing += seconds
    return full / 3600.0, overflowing / 3600.0, max(0.0, (end - start) - known) / 3600.0


def _segments(samples: Sequence[tuple[float, float]], drop: float) -> list[list[tuple[float, float]]]:
    """The samples cut at each collection."""
    out: list[list[tuple[float, float]]] = []
    for sample in samples:
        if not out or out[-1][-1][1] - sample[1] >= drop:
            out.append([sample])
        else:
            out[-1].append(sample)
    return out


def _rate(samples: Sequence[tuple[float, float]], start: float, drop: float) -> float | None:
    """Points a day: the rise of each fill segment (from the period's start on) over the time it took, each
    segment ending where it first reached full scale (the days a bin then stands full say nothing of its rate)."""
    rise = seconds = 0.0
    for whole in _segments([s for s in samples if s[0] >= start], drop):
        top = next((index for index, (_, value) in enumerate(whole) if value >= FULL_SCALE), len(whole) - 1)
        segment = whole[:top + 1]
        if len(segment) >= 2:
            rise += max(0.0, segment[-1][1] - segment[0][1])
            seconds += segment[-1][0] - segment[0][0]
    return rise / seconds * DAY if seconds > 0 else None


def _full_since(samples: Sequence[tuple[float, float]], full_at: float, drop: float) -> float | None:
    """When the current fill segment reached ``full_at``, if its last reading is still at or above it."""
    if not samples or samples[-1][1] < full_at:
        return None
    current = _segments(samples, drop)[-1]
    reached = None
    for ts, value in current:
        if value >= full_at and reached is None:
            reached = ts
        elif value < full_at:
            reached = None
    return reached
