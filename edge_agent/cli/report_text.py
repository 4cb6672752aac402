"""The reports as text tables and CSV, from their JSON form (``edge_agent.reports.encode``)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import IO, Any

from edge_agent.cli.render import table

WIDTH = 132


def _n(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}".replace(",", " ")
    return f"{value}{unit}"


def _pct(share: Any) -> str:
    return "-" if share is None else f"{share * 100:.0f} %"


def _hm(iso: str | None) -> str:
    return "-" if iso is None else iso[11:16]


def _energy_row(label: str, item: dict[str, Any], program: str) -> list[str]:
    hours = item["hours"]
    return [label, program, _n(item["energy_kwh"]), _n(item["baseline_kwh"]), _n(item["saved_kwh"]),
            _pct(item["saved_share"]), _n(item["cost_saved_eur"], 2), _n(item["co2_avoided_kg"]), _n(hours["full"]),
            _n(hours["dimmed"]), _n(hours["off"]), _n(hours["decree_excess"])]


ENERGY_HEADERS = ["night", "program", "kWh", "full-power kWh", "saved kWh", "saved", "EUR", "kg CO2e", "h full",
                  "h dimmed", "h off", "h decree"]


def _night_notes(night: dict[str, Any]) -> list[str]:
    notes = []
    if night["energy_basis"] != "metered":
        notes.append(f"{night['energy_basis']} energy")
    if night["meter_coverage"] is not None and night["meter_coverage"] < 0.99:
        notes.append(f"meter read over {_pct(night['meter_coverage'])} of the night")
    notes += [f"override {o['level']} % {_hm(o['start'])}-{_hm(o['end'])} by {o['source']} ({_n(o['energy_kwh'])} kWh)"
              for o in night["overrides"]]
    notes += [f"lamp failure {f['device']} {_hm(f['time'])}" for f in night["lamp_failures"]]
    notes += [f"meter {c['kind']} {_hm(c['time'])} ({_n(c['before'], 3)} -> {_n(c['after'], 3)})"
              for c in night["counter_issues"]]
    if night["hours"]["assumed"]:
        notes.append(f"{_n(night['hours']['assumed'])} h of level taken from the program")
    return notes


def energy_table(data: dict[str, Any], by: str) -> list[str]:
    lines = [f"Lighting energy, {data['commune']}, nights of {data['from']} to {data['to']}"
             f" ({data['timezone']}; CO2e {data['co2_kg_per_kwh']} kg/kWh"
             + (f", {data['tariff_eur_per_kwh']} EUR/kWh)" if data["tariff_eur_per_kwh"] is not None
                else "; no tariff in [reports.energy], so no cost)")]
    for group in data["groups"]:
        nights = group.get("nights", [])
        shared = " - its energy is its share of a meter it shares with other groups" if any(
            n["shared_meter"] for n in nights) else ""
        lines += ["", f"{group['group']} ({group['category']}){shared}"]
        if by == "night":
            rows = [_energy_row(n["night"], n, n["program"] or "-") for n in nights]
        else:
            periods = group["months"] if by == "month" else {data["from"][:4]: group["totals"]}
            rows = [_energy_row(label, item, f"{item['nights']} nights") for label, item in periods.items()]
        rows.append(_energy_row("total", group["totals"], f"{group['totals']['nights']} nights"))
        lines += table([by, *ENERGY_HEADERS[1:]], rows, WIDTH)
        lines += [f"  {n['night']}: {note}" for n in nights for note in _night_notes(n)]
    left = data["left_out"]
    if left["not_good"] or left["clock_unsynced"]:
        lines += ["", f"left out: {left['not_good']} readings not of good quality, {left['clock_unsynced']} records"
                  " made before the clock was synchronised"]
    return lines


def energy_csv(data: dict[str, Any], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(["group", "night", "program", "energy_kwh", "energy_basis", "baseline_kwh", "saved_kwh",
                     "saved_share", "cost_saved_eur", "co2_avoided_kg", "dark_h", "full_h", "dimmed_h", "off_h",
                     "lit_outside_dark_h", "decree_excess_h", "overrides", "lamp_failures", "counter_issues"])
    for group in data["groups"]:
        for n in group.get("nights", []):
            h = n["hours"]
            writer.writerow([group["group"], n["night"], n["program"], n["energy_kwh"], n["energy_basis"],
                             n["baseline_kwh"], n["saved_kwh"], n["saved_share"], n["cost_saved_eur"],
                             n["co2_avoided_kg"], h["dark"], h["full"], h["dimmed"], h["off"], h["lit_outside_dark"],
                             h["decree_excess"], len(n["overrides"]), len(n["lamp_failures"]),
                             len(n["counter_issues"])])


def waste_table(data: dict[str, Any]) -> list[str]:
    lines = [f"Bins, {data['commune']}, {data['from'][:10]} to {data['last_day']} (collect at {data['collect_at']:g} %,"
             f" overflowing at {data['overflow_at']:g} %)", ""]
    rows = [[b["device"], _n(b["last_fill"], 0, " %"), (b["last_time"] or "-")[:16], _n(b["fill_rate_per_day"], 1),
             str(len(b["collections"])), _n(b["hours_full"]), _n(b["hours_overflowing"]),
             "now" if b["full_since"] else (b["predicted_full"] or "-")[:16], "yes" if b["to_collect"] else ""]
            for b in data["bins"]]
    lines += table(["bin", "fill", "last reading", "points/day", "collections", "h full", "h overflow",
                    "full on", "collect"], rows, WIDTH)
    lines += ["", f"To collect on {data['collect_on']}: {len(data['to_collect'])} bin(s)"]
    lines += [f"  {b['device']}  {_n(b['last_fill'], 0, ' %')}  " + (
        f"{b['latitude']:.5f}, {b['longitude']:.5f}" if b["latitude"] is not None else "no position in the config")
        for b in data["to_collect"]]
    return lines


def waste_csv(data: dict[str, Any], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(["bin", "latitude", "longitude", "readings", "last_fill", "last_time", "fill_rate_per_day",
                     "collections", "hours_full", "hours_overflowing", "hours_unknown", "full_since",
                     "predicted_full", "to_collect"])
    for b in data["bins"]:
        writer.writerow([b["device"], b["latitude"], b["longitude"], b["readings"], b["last_fill"], b["last_time"],
                         b["fill_rate_per_day"], len(b["collections"]), b["hours_full"], b["hours_overflowing"],
                         b["hours_unknown"], b["full_since"], b["predicted_full"], b["to_collect"]])


def mobility_table(data: dict[str, Any]) -> list[str]:
    days = max(len({d for c in data["counters"] for d in c["daily"]}), 1)
    lines = [f"Counts, {data['commune']}, {data['from']} to {data['to']}", ""]
    rows = []
    for c in data["counters"]:
        if not c["flows"]:
            continue
        peak, busiest = c["peak_hour"], c["busiest_hour"]
        rows.append([c["device"], ", ".join(f"{f['label']} {f['total']}" for f in c["flows"]), str(c["total"]),
                     _n(c["total"] / days, 0),
                     "-" if peak is None else f"{peak['hour']:02d}h ({peak['mean']:g}/day)",
                     "-" if busiest is None else f"{busiest['date']} {busiest['hour']:02d}h ({busiest['count']})"])
    if rows:
        lines += table(["counter", "by direction or kind", "total", "a day", "peak hour", "busiest hour"], rows, WIDTH)
    spaces = [c for c in data["counters"] if c.get("occupancy")]
    if spaces:
        lines += ["", f"Parking spaces: occupied {_pct(data['parking_occupancy'])} of the time", ""]
        lines += table(["space", "occupied", "hours known", "busiest hour of the day"], [
            [c["device"], _pct(c["occupancy"]["rate"]), _n(c["occupancy"]["known_h"], 0), _busiest_hour(c)]
            for c in spaces], WIDTH)
    return lines


def _busiest_hour(counter: dict[str, Any]) -> str:
    by_hour = [(v, h) for h, v in enumerate(counter["occupancy"]["by_hour"]) if v is not None]
    if not by_hour:
        return "-"
    rate, hour = max(by_hour)
    return f"{hour:02d}h ({_pct(rate)})"


def mobility_csv(data: dict[str, Any], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(["counter", "what", "date", *[f"h{h:02d}" for h in range(24)], "total"])
    for c in data["counters"]:
        for label, per_day in c["hourly"].items():
            for when, counts in per_day.items():
                writer.writerow([c["device"], label, when, *counts, sum(counts)])


def lines_text(lines: Sequence[str]) -> str:
    return "\n".join(lines)
