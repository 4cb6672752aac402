"""The reports as text tables and CSV, from their JSON form (``edge_agent.reports.encode``).

The tables speak the report's language (``Wording``); the CSV keeps its English column names for the scripts and
spreadsheets that read it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import IO, Any

from edge_agent.cli.render import table
from edge_agent.reports.wording import Wording

WIDTH = 132


def _hm(iso: str | None) -> str:
    return "-" if iso is None else iso[11:16]


def _energy_row(label: str, item: dict[str, Any], program: str, w: Wording) -> list[str]:
    hours = item["hours"]
    return [label, program, w.num(item["energy_kwh"]), w.num(item["baseline_kwh"]), w.num(item["saved_kwh"]),
            w.pct(item["saved_share"]), w.num(item["cost_saved_eur"], 2), w.num(item["co2_avoided_kg"]),
            w.num(hours["full"]), w.num(hours["dimmed"]), w.num(hours["off"]), w.num(hours["decree_excess"])]


ENERGY_HEADERS = ["night", "program", "kwh", "full_kwh", "saved_kwh", "saved", "eur", "co2", "h_full", "h_dimmed",
                  "h_off", "h_decree"]


def _night_notes(night: dict[str, Any], w: Wording) -> list[str]:
    notes = []
    if night["energy_basis"] != "metered":
        notes.append(w(f"basis_{night['energy_basis']}"))
    if night["meter_coverage"] is not None and night["meter_coverage"] < 0.99:
        notes.append(w("coverage", share=w.pct(night["meter_coverage"])))
    notes += [w("override", level=o["level"], start=_hm(o["start"]), end=_hm(o["end"]), who=w.source(o["source"]),
                kwh=w.num(o["energy_kwh"])) for o in night["overrides"]]
    notes += [w("lamp_failure", device=f["device"], at=_hm(f["time"])) for f in night["lamp_failures"]]
    notes += [w("counter_issue", kind=w.issue(c["kind"]), at=_hm(c["time"]), before=w.num(c["before"], 3),
                after=w.num(c["after"], 3)) for c in night["counter_issues"]]
    if night["hours"]["assumed"]:
        notes.append(w("assumed", hours=w.num(night["hours"]["assumed"])))
    return notes


def energy_table(data: dict[str, Any], by: str, w: Wording) -> list[str]:
    factors = [w("factors", co2=w.factor(data["co2_kg_per_kwh"]))]
    tariff = data["tariff_eur_per_kwh"]
    factors.append(w("tariff", tariff=w.factor(tariff)) if tariff is not None else w("no_tariff"))
    lines = [w("energy_title", commune=data["commune"], span=w.span(data["from"], data["to"]))
             + f" ({data['timezone']}; {', '.join(factors)})"]
    for group in data["groups"]:
        nights = group.get("nights", [])
        shared = w("shared") if any(n["shared_meter"] for n in nights) else ""
        lines += ["", f"{group['group']} ({w.category(group['category'])}){shared}"]
        if by == "night":
            rows = [_energy_row(w.day(n["night"]), n, n["program"] or "-", w) for n in nights]
        else:
            periods = group["months"] if by == "month" else {data["from"][:4]: group["totals"]}
            rows = [_energy_row(w.month(label) if by == "month" else label, item, w.nights(item["nights"]), w)
                    for label, item in periods.items()]
        rows.append(_energy_row(w("total"), group["totals"], w.nights(group["totals"]["nights"]), w))
        lines += table([w(by), *(w(key) for key in ENERGY_HEADERS[1:])], rows, WIDTH)
        lines += [f"  {w.day(n['night'])}: {note}" for n in nights for note in _night_notes(n, w)]
    left = data["left_out"]
    if left["not_good"] or left["clock_unsynced"]:
        lines += ["", w("left_out", bad=left["not_good"], unsynced=left["clock_unsynced"])]
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


def waste_table(data: dict[str, Any], w: Wording) -> list[str]:
    lines = [w("waste_title", commune=data["commune"], span=w.span(data["from"], data["last_day"]),
               collect=w.factor(data["collect_at"]), overflow=w.factor(data["overflow_at"])), ""]
    rows = [[b["device"], w.num(b["last_fill"], 0, " %"), _moment(b["last_time"], w), w.num(b["fill_rate_per_day"], 1),
             str(len(b["collections"])), w.num(b["hours_full"]), w.num(b["hours_overflowing"]),
             w("now") if b["full_since"] else _moment(b["predicted_full"], w), w("yes") if b["to_collect"] else ""]
            for b in data["bins"]]
    lines += table([w(key) for key in ("bin", "fill", "last_reading", "rate", "collections", "h_full_bin",
                                       "h_overflow", "full_on", "collect")], rows, WIDTH)
    count = len(data["to_collect"])
    bins = w("no_bin") if count == 0 else w("bin_one") if count == 1 else w("bins", n=count)
    lines += ["", w("to_collect", day=w.day(data["collect_on"]), bins=bins)]
    lines += [f"  {b['device']}  {w.num(b['last_fill'], 0, ' %')}  " + (
        f"{b['latitude']:.5f}, {b['longitude']:.5f}" if b["latitude"] is not None else w("no_position"))
        for b in data["to_collect"]]
    return lines


def _moment(iso: str | None, w: Wording) -> str:
    """A local time of the report ("2026-11-01T01:35+01:00") as "01/11/2026 01:35" or "2026-11-01 01:35"."""
    return "-" if iso is None else f"{w.day(iso)} {iso[11:16]}"


def waste_csv(data: dict[str, Any], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(["bin", "latitude", "longitude", "readings", "last_fill", "last_time", "fill_rate_per_day",
                     "collections", "hours_full", "hours_overflowing", "hours_unknown", "full_since",
                     "predicted_full", "to_collect"])
    for b in data["bins"]:
        writer.writerow([b["device"], b["latitude"], b["longitude"], b["readings"], b["last_fill"], b["last_time"],
                         b["fill_rate_per_day"], len(b["collections"]), b["hours_full"], b["hours_overflowing"],
                         b["hours_unknown"], b["full_since"], b["predicted_full"], b["to_collect"]])


def mobility_table(data: dict[str, Any], w: Wording) -> list[str]:
    days = max(len({d for c in data["counters"] for d in c["daily"]}), 1)
    lines = [w("counts_title", commune=data["commune"], span=w.span(data["from"], data["to"])), ""]
    rows = []
    for c in data["counters"]:
        if not c["flows"]:
            continue
        peak, most = c["peak_hour"], c["busiest_hour"]
        rows.append([c["device"], ", ".join(f"{w.flow(f['label'])} {f['total']}" for f in c["flows"]), str(c["total"]),
                     w.num(c["total"] / days, 0),
                     "-" if peak is None else f"{peak['hour']:02d}h ({w('per_day', mean=w.factor(peak['mean']))})",
                     "-" if most is None else f"{w.day(most['date'])} {most['hour']:02d}h ({most['count']})"])
    if rows:
        lines += table([w(key) for key in ("counter", "flows", "total", "a_day", "peak", "busiest")], rows, WIDTH)
    spaces = [c for c in data["counters"] if c.get("occupancy")]
    if spaces:
        lines += ["", w("parking", share=w.pct(data["parking_occupancy"])), ""]
        lines += table([w(key) for key in ("space", "occupied", "known_h", "busiest_hour")], [
            [c["device"], w.pct(c["occupancy"]["rate"]), w.num(c["occupancy"]["known_h"], 0), _busiest_hour(c, w)]
            for c in spaces], WIDTH)
    return lines


def _busiest_hour(counter: dict[str, Any], w: Wording) -> str:
    by_hour = [(v, h) for h, v in enumerate(counter["occupancy"]["by_hour"]) if v is not None]
    if not by_hour:
        return "-"
    rate, hour = max(by_hour)
    return f"{hour:02d}h ({w.pct(rate)})"


def mobility_csv(data: dict[str, Any], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(["counter", "what", "date", *[f"h{h:02d}" for h in range(24)], "total"])
    for c in data["counters"]:
        for label, per_day in c["hourly"].items():
            for when, counts in per_day.items():
                writer.writerow([c["device"], label, when, *counts, sum(counts)])


def lines_text(lines: Sequence[str]) -> str:
    return "\n".join(lines)
