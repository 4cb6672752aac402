"""The lighting energy report: per group and per night, what was used, what full power would have used, what
was saved, and how the lights were run.

For each group and each night (noon to noon, local time):

- **energy**: what the group's counters counted over the night (``metering``), or, for a group without counters,
  what its installed power at the levels it was run at comes to (*modelled*);
- **baseline**: the group lit from sunset to sunrise at full power: the installed power (``power_w``), or the
  power of the installation it replaced (``power_before_retrofit_w``) when the config gives it;
- **saved** = baseline - energy; its share of the baseline; its cost (``reports.energy.tariff_eur_per_kwh``) and
  the CO2 it avoided (``reports.energy.co2_kg_per_kwh``);
- **hours** between sunset and sunrise at full power, dimmed and off, hours lit outside them, and hours lit
  inside what the decree of 27 December 2018 forbids for the group's category;
- the **overrides** and the energy used while they held, with what they added to the program's own plan;
- the **lamp failures** seen, and what the counters did (resets, rollovers, glitches, gaps).

Modelled energy takes a luminaire's power as proportional to its level, which LED drivers follow closely.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import field
from datetime import date
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from edge_agent.config.site import SiteConfig
from edge_agent.frozen import frozen
from edge_agent.reading import Event
from edge_agent.reports import levels, metering
from edge_agent.reports.inputs import Inputs, Key, Source, read
from edge_agent.reports.period import Span, overlap
from edge_agent.rules import decree
from edge_agent.rules.config import Group, LampFailure
from edge_agent.rules.programs import NightPlan, Place, night_plan
from edge_agent.store.history import Selection

HOUR = 3600.0
LOOKBACK_S = 7 * 86_400.0  # how far before a night the level in force is looked for
METER_MARGIN_S = 24 * HOUR  # meter readings this far around a night let its ends be interpolated
LAMP_ALARMS = ("lamp_failure", "lamp_error", "driver_error")


@frozen
class CounterNote:
    device: str
    point: str
    kind: str
    since: float
    ts: float
    before: float
    after: float
    counted_kwh: float


@frozen
class OverrideUse:
    start: float
    end: float
    level: int
    source: str
    energy_kwh: float | None  # used while it held (metered when the group has counters)
    extra_kwh: float | None  # what it added to the program's plan over the same time (modelled)


@frozen
class LampFault:
    ts: float
    device: str
    what: str


@frozen
class GroupNight:
    group: str
    category: str
    night: date
    start: float
    end: float
    program: str
    sunset: float
    sunrise: float
    dark_h: float
    full_h: float
    dimmed_h: float
    off_h: float
    lit_outside_dark_h: float
    decree_excess_h: float | None
    assumed_h: float
    energy_kwh: float | None
    energy_basis: str  # "metered", "modelled" or "unknown"
    meter_coverage: float | None  # share of the night between the counters' first and last readings
    shared_meter: bool
    modelled_kwh: float | None
    baseline_kwh: float | None
    baseline_basis: str | None  # "installed power" or "power before the retrofit"
    saved_kwh: float | None
    saved_share: float | None
    cost_saved_eur: float | None
    co2_avoided_kg: float | None
    switched_on: float | None = None  # the night's last switch from off to lit
    switched_off: float | None = None  # the night's last switch from lit to off
    overrides: list[OverrideUse] = field(default_factory=list)
    lamp_failures: list[LampFault] = field(default_factory=list)
    counter_issues: list[CounterNote] = field(default_factory=list)


@frozen
class MeterNight:
    """One counter over one night, whole (not split between the groups it measures)."""

    device: str
    point: str
    night: date
    start: float
    energy_kwh: float
    coverage: float
    last_value: float | None  # the counter's last reading in the night, in its own unit
    unit: str | None


@frozen
class EnergyReport:
    commune: str
    timezone: str
    first: date
    last: date
    tariff_eur_per_kwh: float | None
    co2_kg_per_kwh: float
    co2_source: str
    nights: list[GroupNight]
    not_good: int
    clock_unsynced: int
    meters: list[MeterNight] = field(default_factory=list)


def selection(config: SiteConfig) -> Selection:
    return Selection(points=metering.selection_points(config.lighting.groups),
                     events=(*levels.EVENT_KINDS, "alarm.raised", "device_alarm"), bisect=True)


def read_span(nights: Sequence[Span]) -> tuple[float, float]:
    """The stretch of readings the report of these nights reads (its events go back further: ``events_since``)."""
    return nights[0].start - METER_MARGIN_S, nights[-1].end + METER_MARGIN_S


def events_since(nights: Sequence[Span]) -> float:
    """How far back the lighting events are read: the level in force when the first night starts."""
    return nights[0].start - LOOKBACK_S


def gather(source: Source, config: SiteConfig, nights: Sequence[Span]) -> Inputs:
    """What the report of these nights reads from history."""
    return read(source, *read_span(nights), selection(config), events_since=events_since(nights))


def report(config: SiteConfig, inputs: Inputs, nights: Sequence[Span], groups: Sequence[str] | None = None
           ) -> EnergyReport:
    """The report of ``nights`` for ``groups`` (all when None), from what history holds."""
    site, settings = config.site, config.reports.energy
    chosen = [g for g in config.lighting.groups if groups is None or g.name in groups]
    meters = _Meters(config, inputs)
    place = Place(site.latitude, site.longitude, site.timezone)
    out: list[GroupNight] = []
    writes = {g.name: levels.confirmed_writes(inputs.events, g.name) for g in config.lighting.groups}
    for span in nights:
        plans = {g.name: night_plan(config.lighting, g.name, span.day, place) for g in config.lighting.groups}
        runs = {name: levels.segments(writes[name], plan) for name, plan in plans.items()}
        night = _Night(span, {g.name: _modelled(g.power_w, runs[g.name]) for g in config.lighting.groups})
        out.extend(_group_night(meters, group, night, plans[group.name], runs[group.name]) for group in chosen)
    used = dict.fromkeys(key for group in chosen for key in meters.keys(group))
    return EnergyReport(site.commune, site.timezone, nights[0].day, nights[-1].day, settings.tariff_eur_per_kwh,
                        settings.co2_kg_per_kwh, settings.co2_source, out, inputs.not_good, inputs.clock_unsynced,
                        [meters.night(key, span) for span in nights for key in used])


def _modelled(power_w: float | None, pieces: Sequence[levels.Segment]) -> float | None:
    if power_w is None:
        return None
    return sum(power_w * piece.level / 100.0 * piece.seconds for piece in pieces) / HOUR / 1000.0


@frozen
class _Night:
    span: Span
    modelled: dict[str, float | None]  # every group's modelled kWh this night, to split shared counters


class _Meters:
    """Every counter of the site, made monotonic once for the whole period."""

    def __init__(self, config: SiteConfig, inputs: Inputs) -> None:
        self.config = config
        self.inputs = inputs
        self.sources = {g.name: metering.sources(g, inputs) for g in config.lighting.groups}
        self.counters: dict[Key, metering.Counter] = {}
        for found in self.sources.values():
            for key, rollover in found:
                if key not in self.counters:
                    self.counters[key] = metering.build(key, rollover, inputs, config.reports.energy.meter_gap_s)

    def night(self, key: Key, span: Span) -> MeterNight:
        counter = self.counters[key]
        samples = self.inputs.numbers(key)
        inside = bisect.bisect_left(samples, (span.end,)) - 1
        last = samples[inside][1] if inside >= 0 and samples[inside][0] >= span.start else None
        return MeterNight(key[0], key[1], span.day, span.start, counter.kwh(span.start, span.end),
                          counter.track.covered(span.start, span.end) / (span.end - span.start), last, counter.unit)

    def keys(self, group: Group) -> list[Key]:
        return [key for key, _ in self.sources[group.name] if self.counters[key].track.times]

    def metered(self, group: Group, night: _Night, start: float, end: float
                ) -> tuple[float | None, float | None, bool]:
        """The group's kWh over [start, end), the counters' coverage of it, and whether a counter is shared; no kWh
        when a counter has no reading around that time at all (a night the meter was silent is not a night at 0)."""
        keys = self.keys(group)
        if not keys or any(self.counters[key].track.covered(start, end) <= 0 for key in keys):
            return None, None, False
        total, covered, shared = 0.0, 1.0, False
        groups = self.config.lighting.groups
        for key in keys:
            users = [g for g in groups if key in dict(self.sources[g.name])]
            split = metering.shares({g.name: night.modelled[g.name] for g in users},
                                    {g.name: g.power_w for g in users})
            shared = shared or len(users) > 1
            counter = self.counters[key]
            total += counter.kwh(start, end) * split[group.name]
            covered = min(covered, counter.track.covered(start, end) / (end - start))
        return total, covered, shared


def _group_night(meters: _Meters, group: Group, night: _Night, plan: NightPlan,
                 run: list[levels.Segment]) -> GroupNight:
    config, span = meters.config, night.span
    settings = config.reports.energy
    sunset, sunrise = plan.sun.sunset, plan.sun.sunrise
    hours = _hours(run, sunset, sunrise)
    metered, coverage, shared = meters.metered(group, night, span.start, span.end)
    model = night.modelled[group.name]
    energy, basis = (metered, "metered") if metered is not None else (model, "modelled")
    if energy is None:
        basis = "unknown"
    power, baseline_basis = _baseline_power(group)
    baseline = power * (sunrise - sunset) / HOUR / 1000.0 if power is not None else None
    saved = baseline - energy if baseline is not None and energy is not None else None
    tariff = settings.tariff_eur_per_kwh
    return GroupNight(
        group=group.name, category=group.category.value, night=span.day, start=span.start, end=span.end,
        program=plan.program, sunset=sunset, sunrise=sunrise, dark_h=(sunrise - sunset) / HOUR,
        full_h=hours["full"], dimmed_h=hours["dimmed"], off_h=hours["off"], lit_outside_dark_h=hours["outside"],
        decree_excess_h=_decree_excess(group, span, plan, run, config.site.timezone),
        assumed_h=sum(piece.seconds for piece in run if piece.assumed) / HOUR,
        energy_kwh=energy, energy_basis=basis, meter_coverage=coverage, shared_meter=shared, modelled_kwh=model,
        baseline_kwh=baseline, baseline_basis=baseline_basis, saved_kwh=saved,
        saved_share=saved / baseline if saved is not None and baseline else None,
        cost_saved_eur=saved * tariff if saved is not None and tariff is not None else None,
        co2_avoided_kg=saved * settings.co2_kg_per_kwh if saved is not None else None,
        switched_on=_last_switch(run, on=True), switched_off=_last_switch(run, on=False),
        overrides=_override_uses(meters, group, night, plan, run),
        lamp_failures=_lamp_faults(config, group, meters.inputs.events, span),
        counter_issues=_counter_notes(meters, group, span),
    )


def _last_switch(run: Sequence[levels.Segment], *, on: bool) -> float | None:
    found = None
    for before, after in itertools.pairwise(run):
        if (before.level == 0) == on and (after.level > 0) == on:
            found = after.start
    return found


def _baseline_power(group: Group) -> tuple[float | None, str | None]:
    if group.power_before_retrofit_w is not None:
        return group.power_before_retrofit_w, "power before the retrofit"
    if group.power_w is not None:
        return group.power_w, "installed power"
    return None, None


def _hours(run: Sequence[levels.Segment], sunset: float, sunrise: float) -> dict[str, float]:
    hours = {"full": 0.0, "dimmed": 0.0, "off": 0.0, "outside": 0.0}
    for piece in run:
        dark = overlap(piece.start, piece.end, sunset, sunrise)
        kind = "off" if piece.level <= 0 else "full" if piece.level >= 100 else "dimmed"
        hours[kind] += dark / HOUR
        if piece.level > 0:
            hours["outside"] += (piece.seconds - dark) / HOUR
    return hours


def _decree_excess(group: Group, span: Span, plan: NightPlan, run: Sequence[levels.Segment],
                   timezone: str) -> float | None:
    rule = decree.window(group)
    if rule is None:
        return None
    begin, finish = decree.forbidden_span(rule, span.day, plan.sun, ZoneInfo(timezone))
    return sum(overlap(p.start, p.end, begin, finish) for p in run if p.level > 0) / HOUR


def _override_uses(meters: _Meters, group: Group, night: _Night, plan: NightPlan,
                   run: list[levels.Segment]) -> list[OverrideUse]:
    span = night.span
    program = levels.planned(plan, span.start, span.end)
    out = []
    for held in levels.overrides(meters.inputs.events, group.name, span.start, span.end):
        metered, _, _ = meters.metered(group, night, held.start, held.end)
        actual = _modelled(group.power_w, levels.clip(run, held.start, held.end))
        planned = _modelled(group.power_w, levels.clip(program, held.start, held.end))
        extra = actual - planned if actual is not None and planned is not None else None
        out.append(OverrideUse(held.start, held.end, held.level, held.source,
                               metered if metered is not None else actual, extra))
    return out


def _lamp_faults(config: SiteConfig, group: Group, events: Sequence[Event], span: Span) -> list[LampFault]:
    devices = {member.device for member in group.members}
    points = {(member.device, member.point) for member in group.members}
    rules = {rule.name: rule for rule in config.alarms if isinstance(rule, LampFailure)}
    out = []
    for event in events:
        if not span.start <= event.ts < span.end or event.device is None:
            continue
        if event.kind == "alarm.raised":
            rule = rules.get(str(event.data.get("rule")))
            if rule is not None and fnmatchcase(event.device, rule.device) and (
                    (event.device, rule.command_point) in points or (event.device, None) in points):
                out.append(LampFault(event.ts, event.device, "current near zero while commanded on"))
        elif event.kind == "device_alarm" and event.device in devices:
            name = str(event.data.get("alarm", ""))
            if name.startswith(LAMP_ALARMS):
                out.append(LampFault(event.ts, event.device, name))
    return out


def _counter_notes(meters: _Meters, group: Group, span: Span) -> list[CounterNote]:
    out: list[CounterNote] = []
    for key in meters.keys(group):
        counter = meters.counters[key]
        out.extend(CounterNote(key[0], key[1], issue.kind, issue.since, issue.ts, issue.before, issue.after,
                               issue.counted * counter.factor)
                   for issue in counter.track.issues_in(span.start, span.end))
    return out
