"""Reports as JSON-ready dicts: the ``--format json`` output and the body of the daily ``reports`` message.

Times are local ISO 8601 with their offset (``2026-10-24T23:00+02:00``), dates ``YYYY-MM-DD``; energy in kWh
(3 decimals), hours (2), shares 0-1 (4), euros (2), kg CO2e (2), fill levels in percent (1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.reports import period
from edge_agent.reports.energy import EnergyReport, GroupNight
from edge_agent.reports.mobility import CounterReport, MobilityReport
from edge_agent.reports.period import iso_local
from edge_agent.reports.waste import BinReport, WasteReport

Number = float | None


def _r(value: Number, digits: int) -> Number:
    return None if value is None else round(value, digits)


def _sum(values: Sequence[Number]) -> Number:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


# -- energy -------------------------------------------------------------------------------------------------------


def night_json(item: GroupNight, zone: ZoneInfo) -> dict[str, Any]:
    def t(ts: float) -> str:
        return iso_local(ts, zone)

    return {
        "night": item.night.isoformat(), "program": item.program, "sunset": t(item.sunset), "sunrise": t(item.sunrise),
        "energy_kwh": _r(item.energy_kwh, 3), "energy_basis": item.energy_basis,
        "meter_coverage": _r(item.meter_coverage, 4), "shared_meter": item.shared_meter,
        "modelled_kwh": _r(item.modelled_kwh, 3), "baseline_kwh": _r(item.baseline_kwh, 3),
        "baseline_basis": item.baseline_basis, "saved_kwh": _r(item.saved_kwh, 3),
        "saved_share": _r(item.saved_share, 4), "cost_saved_eur": _r(item.cost_saved_eur, 2),
        "co2_avoided_kg": _r(item.co2_avoided_kg, 2),
        "hours": {"dark": _r(item.dark_h, 2), "full": _r(item.full_h, 2), "dimmed": _r(item.dimmed_h, 2),
                  "off": _r(item.off_h, 2), "lit_outside_dark": _r(item.lit_outside_dark_h, 2),
                  "decree_excess": _r(item.decree_excess_h, 2), "assumed": _r(item.assumed_h, 2)},
        "overrides": [{"start": t(o.start), "end": t(o.end), "level": o.level, "source": o.source,
                       "energy_kwh": _r(o.energy_kwh, 3), "extra_kwh": _r(o.extra_kwh, 3)} for o in item.overrides],
        "lamp_failures": [{"time": t(f.ts), "device": f.device, "what": f.what} for f in item.lamp_failures],
        "counter_issues": [{"device": c.device, "point": c.point, "kind": c.kind, "since": t(c.since),
                            "time": t(c.ts), "before": c.before, "after": c.after,
                            "counted_kwh": _r(c.counted_kwh, 3)} for c in item.counter_issues],
    }


def totals(items: Sequence[GroupNight]) -> dict[str, Any]:
    """Sums over nights; the share saved is the sum saved over the sum of the baselines."""
    baseline, saved = _sum([i.baseline_kwh for i in items]), _sum([i.saved_kwh for i in items])
    return {
        "nights": len(items), "energy_kwh": _r(_sum([i.energy_kwh for i in items]), 3),
        "baseline_kwh": _r(baseline, 3), "saved_kwh": _r(saved, 3),
        "saved_share": _r(saved / baseline, 4) if saved is not None and baseline else None,
        "cost_saved_eur": _r(_sum([i.cost_saved_eur for i in items]), 2),
        "co2_avoided_kg": _r(_sum([i.co2_avoided_kg for i in items]), 2),
        "hours": {key: _r(_sum([getattr(i, attr) for i in items]), 2) for key, attr in (
            ("dark", "dark_h"), ("full", "full_h"), ("dimmed", "dimmed_h"), ("off", "off_h"),
            ("lit_outside_dark", "lit_outside_dark_h"), ("decree_excess", "decree_excess_h"),
            ("assumed", "assumed_h"))},
        "overrides": sum(len(i.overrides) for i in items),
        "lamp_failures": sum(len(i.lamp_failures) for i in items),
        "counter_issues": sum(len(i.counter_issues) for i in items),
    }


PERIODS: dict[str, Callable[[date], str]] = {
    "night": lambda d: d.isoformat(), "month": lambda d: f"{d:%Y-%m}", "year": lambda d: f"{d:%Y}",
}


def by_period(items: Sequence[GroupNight], by: str) -> dict[str, list[GroupNight]]:
    """Nights grouped by the month or year of their evening (or one group per night)."""
    out: dict[str, list[GroupNight]] = defaultdict(list)
    for item in items:
        out[PERIODS[by](item.night)].append(item)
    return dict(out)


def energy_json(report: EnergyReport, *, nights: bool = True) -> dict[str, Any]:
    zone = ZoneInfo(report.timezone)
    groups: dict[str, list[GroupNight]] = defaultdict(list)
    for item in report.nights:
        groups[item.group].append(item)
    return {
        "report": "energy", "commune": report.commune, "timezone": report.timezone,
        "from": report.first.isoformat(), "to": report.last.isoformat(),
        "tariff_eur_per_kwh": report.tariff_eur_per_kwh, "co2_kg_per_kwh": report.co2_kg_per_kwh,
        "co2_source": report.co2_source,
        "left_out": {"not_good": report.not_good, "clock_unsynced": report.clock_unsynced},
        "meters": [{"device": m.device, "point": m.point, "night": m.night.isoformat(),
                    "energy_kwh": _r(m.energy_kwh, 3), "coverage": _r(m.coverage, 4)} for m in report.meters],
        "groups": [{
            "group": name, "category": items[0].category, "totals": totals(items),
            "months": {month: totals(part) for month, part in by_period(items, "month").items()},
            **({"nights": [night_json(i, zone) for i in items]} if nights else {}),
        } for name, items in groups.items()],
    }


# -- waste --------------------------------------------------------------------------------------------------------


def bin_json(item: BinReport, zone: ZoneInfo, *, series: bool = True) -> dict[str, Any]:
    def t(ts: float | None) -> str | None:
        return None if ts is None else iso_local(ts, zone)

    out: dict[str, Any] = {
        "device": item.device, "latitude": item.latitude, "longitude": item.longitude, "readings": item.readings,
        "last_fill": _r(item.last_fill, 1), "last_time": t(item.last_ts),
        "fill_rate_per_day": _r(item.fill_rate_per_day, 1),
        "collections": [{"time": t(c.ts), "before": _r(c.before, 1), "after": _r(c.after, 1)}
                        for c in item.collections],
        "hours_full": _r(item.hours_full, 2), "hours_overflowing": _r(item.hours_overflowing, 2),
        "hours_unknown": _r(item.hours_unknown, 2), "full_since": t(item.full_since),
        "predicted_full": t(item.predicted_full), "to_collect": item.to_collect,
    }
    if series:
        out["series"] = [[t(ts), _r(value, 1)] for ts, value in item.series]
    return out


def waste_json(report: WasteReport, *, series: bool = True) -> dict[str, Any]:
    zone = ZoneInfo(report.timezone)
    return {
        "report": "waste", "commune": report.commune, "timezone": report.timezone,
        "from": iso_local(report.start, zone), "to": iso_local(report.end, zone),
        "last_day": period.local(report.end - 1.0, zone).date().isoformat(),
        "collect_at": report.collect_at, "overflow_at": report.overflow_at,
        "left_out": {"not_good": report.not_good, "clock_unsynced": report.clock_unsynced},
        "collect_on": report.collect_on.isoformat(),
        "to_collect": [{"device": b.device, "latitude": b.latitude, "longitude": b.longitude,
                        "last_fill": _r(b.last_fill, 1)} for b in report.to_collect],
        "bins": [bin_json(b, zone, series=series) for b in report.bins],
    }


# -- mobility -----------------------------------------------------------------------------------------------------


def counter_json(item: CounterReport, days: int, zone: ZoneInfo) -> dict[str, Any]:
    peak, busiest = item.peak_hour(days), item.busiest()
    hourly: dict[str, dict[str, list[int]]] = {}
    for flow in item.flows:
        per_day: dict[str, list[int]] = {}
        for (when, hour), count in sorted(flow.hourly.items()):
            per_day.setdefault(when.isoformat(), [0] * 24)[hour] += count
        hourly[flow.label] = per_day
    out: dict[str, Any] = {
        "device": item.device, "total": item.total,
        "daily": {when.isoformat(): count for when, count in item.daily().items()},
        "flows": [{"label": f.label, "point": f.point, "total": f.total,
                   "counter_issues": [{"kind": i.kind, "time": iso_local(i.ts, zone), "before": i.before,
                                       "after": i.after, "counted": i.counted} for i in f.issues]}
                  for f in item.flows],
        "hourly": hourly,
        "peak_hour": None if peak is None else {"hour": peak[0], "mean": round(peak[1], 1)},
        "busiest_hour": None if busiest is None else {"date": busiest[0][0].isoformat(), "hour": busiest[0][1],
                                                      "count": busiest[1]},
    }
    if item.occupancy is not None:
        out["occupancy"] = {
            "rate": _r(item.occupancy, 4), "known_h": _r(item.occupied_known_h, 2),
            "by_hour": [_r(v, 4) for v in item.occupancy_by_hour],
            "by_day": {when.isoformat(): _r(v, 4) for when, v in item.occupancy_by_day.items()},
        }
    return out


def mobility_json(report: MobilityReport) -> dict[str, Any]:
    zone = ZoneInfo(report.timezone)
    return {
        "report": "mobility", "commune": report.commune, "timezone": report.timezone,
        "from": report.days[0].day.isoformat(), "to": report.days[-1].day.isoformat(),
        "left_out": {"not_good": report.not_good, "clock_unsynced": report.clock_unsynced},
        "parking_occupancy": _r(report.parking_occupancy, 4),
        "counters": [counter_json(c, len(report.days), zone) for c in report.counters],
    }
