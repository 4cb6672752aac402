"""Charts of the reports for the people who read them (a mayor, a council), drawn from their JSON form.

The one module that imports matplotlib (the optional ``reports`` extra); only ``edge-agent report ... --chart``
imports it, never the daemon. It draws on a bare ``Figure`` (the Agg canvas, no pyplot state, no display needed);
the file name's suffix, .png or .svg, picks the format. Every text is in the report's language (``Wording``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from edge_agent.reports.wording import Wording

USED = "#1f5fa8"
BASELINE = "#d5dbe3"
SAVED = "#3a9a4a"
WARN = "#e08a00"
ALERT = "#c62828"
PALETTE = ["#1f5fa8", "#e08a00", "#3a9a4a", "#8e44ad", "#c62828", "#00838f", "#6d4c41", "#546e7a"]
DPI = 110


def draw(kind: str, data: dict[str, Any], path: Path, words: Wording) -> None:
    figure = {"energy": energy, "waste": waste, "mobility": mobility}[kind](data, words)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")


def _style(axes: Axes) -> None:
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)
    axes.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    axes.set_axisbelow(True)


def _day_ticks(axes: Axes, days: Sequence[date], w: Wording) -> None:
    """Bars at 0, 1, 2...: label about ten of them with their date."""
    step = max(1, len(days) // 10)
    axes.set_xticks(range(0, len(days), step))
    axes.set_xticklabels([w.short_day(d) for d in days[::step]])
    axes.set_xlim(-0.6, len(days) - 0.4)


# -- energy -------------------------------------------------------------------------------------------------------


def energy(data: dict[str, Any], w: Wording) -> Figure:
    """Each night: the energy used beside what the lights would have used at full power all night; then each
    group's totals."""
    used: dict[date, float] = defaultdict(float)
    baseline: dict[date, float] = defaultdict(float)
    marks: dict[date, list[str]] = defaultdict(list)
    for group in data["groups"]:
        for night in group.get("nights", []):
            day = date.fromisoformat(night["night"])
            used[day] += night["energy_kwh"] or 0.0
            baseline[day] += night["baseline_kwh"] or 0.0
            marks[day] += [w("chart_mark_override")] * len(night["overrides"])
            marks[day] += [w("chart_mark_lamp")] * len(night["lamp_failures"])
            marks[day] += [w(f"chart_mark_{c['kind']}") for c in night["counter_issues"]
                           if c["kind"] in ("reset", "rollover")]
    days = sorted(used)
    figure = Figure(figsize=(11, 7.2))
    top, bottom = figure.subplots(2, 1, height_ratios=[3, 1.6])
    x = list(range(len(days)))
    top.bar(x, [baseline[d] for d in days], width=0.8, color=BASELINE, label=w("chart_baseline"))
    top.bar(x, [used[d] for d in days], width=0.5, color=USED, label=w("chart_used"))
    for when, day in zip(x, days, strict=True):
        if marks[day]:
            labels = sorted(set(marks[day]))
            top.annotate("\n".join(labels), (when, baseline[day] or used[day]), xytext=(0, 4),
                         textcoords="offset points", ha="center", fontsize=7, color=WARN)
    _style(top)
    _day_ticks(top, days, w)
    top.set_ylabel(w("chart_kwh_night"))
    top.legend(loc="upper left", frameon=False, ncols=2)
    total_used = sum(used.values())
    total_base = sum(baseline.values())
    saved = total_base - total_used
    parts = [w("chart_saved", kwh=w.num(saved, 0), share=w.pct(saved / total_base)) if total_base
             else w("chart_saved", kwh=w.num(saved, 0), share="-")]
    cost = sum(g["totals"]["cost_saved_eur"] or 0.0 for g in data["groups"])
    co2 = sum(g["totals"]["co2_avoided_kg"] or 0.0 for g in data["groups"])
    if data["tariff_eur_per_kwh"] is not None:
        parts.append(w("chart_eur", eur=w.num(cost, 0)))
    parts.append(w("chart_co2", kg=w.num(co2, 0)))
    top.set_title(w("chart_energy_title", commune=data["commune"], span=w.span(data["from"], data["to"])) + "\n"
                  + ", ".join(parts), fontsize=13, loc="left")
    _energy_groups(bottom, data, w)
    figure.text(0.01, 0.005, w("chart_energy_note", co2=w.factor(data["co2_kg_per_kwh"]), source=data["co2_source"]),
                fontsize=7.5, color="#555555")
    figure.tight_layout(rect=(0, 0.02, 1, 1))
    return figure


def _energy_groups(axes: Axes, data: dict[str, Any], w: Wording) -> None:
    names = [g["group"] for g in data["groups"]]
    used = [g["totals"]["energy_kwh"] or 0.0 for g in data["groups"]]
    saved = [max(g["totals"]["saved_kwh"] or 0.0, 0.0) for g in data["groups"]]
    axes.barh(names, used, color=USED, label=w("chart_group_used"))
    axes.barh(names, saved, left=used, color=SAVED, label=w("chart_group_saved"))
    for row, group in enumerate(data["groups"]):
        share = group["totals"]["saved_share"]
        text = w("chart_group_text", kwh=w.num(used[row], 0)) + (
            w("chart_group_share", share=w.pct(share)) if share is not None else "")
        axes.text(used[row] + saved[row], row, "  " + text, va="center", fontsize=8.5)
    axes.invert_yaxis()
    axes.set_xlabel(w("chart_kwh_period"))
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)
    axes.legend(loc="lower right", frameon=False, ncols=2)
    axes.set_xlim(0, max([u + s for u, s in zip(used, saved, strict=True)] + [1.0]) * 1.45)


# -- waste --------------------------------------------------------------------------------------------------------


def waste(data: dict[str, Any], w: Wording) -> Figure:
    """One small panel per bin: its fill level over the period, the collection threshold, its collections."""
    bins = data["bins"]
    columns = 3 if len(bins) > 4 else max(len(bins), 1)
    rows = max((len(bins) + columns - 1) // columns, 1)
    figure = Figure(figsize=(4.2 * columns, 2.3 * rows + 1.0))
    grid = figure.subplots(rows, columns, squeeze=False, sharey=True)
    for index, axes in enumerate(grid.flat):
        if index >= len(bins):
            axes.set_visible(False)
            continue
        _bin_panel(axes, bins[index], data, w)
    count = len(data["to_collect"])
    title = w("chart_waste_title", commune=data["commune"], span=w.span(data["from"], data["last_day"]), n=count,
              day=w.day(data["collect_on"]))
    figure.suptitle(title + (f" ({', '.join(b['device'] for b in data['to_collect'])})" if 0 < count <= 4 else ""),
                    fontsize=13, x=0.01, ha="left")
    handles = [Line2D([], [], color=USED, linewidth=1.5, label=w("chart_fill")),
               Line2D([], [], color=WARN, linestyle="--", label=w("chart_collect_from", level=w.factor(
                   data["collect_at"]))),
               Line2D([], [], color=ALERT, linestyle=":", label=w("chart_overflow_from", level=w.factor(
                   data["overflow_at"]))),
               Line2D([], [], color=SAVED, label=w("chart_emptied"))]
    figure.legend(handles=handles, loc="lower center", ncols=4, frameon=False, fontsize=9)
    figure.tight_layout(rect=(0, 0.035, 1, 1))
    return figure


def _bin_panel(axes: Axes, item: dict[str, Any], data: dict[str, Any], w: Wording) -> None:
    start = datetime.fromisoformat(data["from"])
    end = datetime.fromisoformat(data["to"])

    def x(text: str) -> float:
        return (datetime.fromisoformat(text) - start).total_seconds() / 86_400.0

    points = [(x(t), v) for t, v in item["series"] if v is not None]
    if points:
        axes.plot([p[0] for p in points], [p[1] for p in points], color=USED, linewidth=1.2)
        axes.fill_between([p[0] for p in points], [p[1] for p in points], color=USED, alpha=0.12)
    axes.axhline(data["collect_at"], color=WARN, linestyle="--", linewidth=1)
    axes.axhline(data["overflow_at"], color=ALERT, linestyle=":", linewidth=1)
    for collection in item["collections"]:
        axes.axvline(x(collection["time"]), color=SAVED, linewidth=0.8, alpha=0.7)
    axes.set_ylim(0, 105)
    axes.set_yticks([0, 50, data["collect_at"], 100])
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0f} %")
    length = (end - start).total_seconds() / 86_400.0
    step = max(1, round(length / 5))
    ticks = [float(d) for d in range(0, int(length) + 1, step)]
    axes.set_xticks(ticks)
    axes.set_xticklabels([f"{start + timedelta(days=d):%d/%m}" for d in ticks])
    axes.set_xlim(0, length)
    axes.tick_params(labelsize=8)
    _style(axes)
    last = item["last_fill"]
    status = w("chart_collect") if item["to_collect"] else ""
    color = ALERT if item["to_collect"] else "#222222"
    axes.set_title(f"{item['device']}  {'' if last is None else w.num(float(last), 0, ' %')}  {status}",
                   fontsize=9.5, loc="left", color=color)


# -- mobility -----------------------------------------------------------------------------------------------------


def mobility(data: dict[str, Any], w: Wording) -> Figure:
    """Passages each day, per counter; an average day, hour by hour; parking occupancy by hour when there is any."""
    counters = [c for c in data["counters"] if c["flows"]]
    parking = [c for c in data["counters"] if c.get("occupancy")]
    panels = 2 + (1 if parking else 0)
    figure = Figure(figsize=(11, 3.3 * panels + 0.6))
    axes = figure.subplots(panels, 1, squeeze=False)[:, 0]
    _daily(axes[0], counters, w)
    _profile(axes[1], counters, w)
    if parking:
        _occupancy(axes[2], parking, data["parking_occupancy"], w)
    figure.suptitle(w("counts_title", commune=data["commune"], span=w.span(data["from"], data["to"])), fontsize=13,
                    x=0.01, ha="left")
    figure.tight_layout()
    return figure


def _daily(axes: Axes, counters: list[dict[str, Any]], w: Wording) -> None:
    days = sorted({d for c in counters for d in c["daily"]})
    x = list(range(len(days)))
    highest = 1.0
    for index, counter in enumerate(counters):
        values = [counter["daily"].get(d, 0) for d in days]
        highest = max([highest, *values])
        axes.plot(x, values, color=PALETTE[index % len(PALETTE)], marker="o", markersize=3.5, linewidth=1.6,
                  label=f"{counter['device']} ({w('chart_in_all', n=w.num(float(counter['total']), 0))})")
    axes.set_ylim(0, highest * 1.3)  # room for the legend above the lines
    _style(axes)
    _day_ticks(axes, [date.fromisoformat(d) for d in days], w)
    axes.set_ylabel(w("chart_passages_day"))
    axes.set_title(w("chart_every_day"), loc="left", fontsize=10.5)
    axes.legend(loc="upper left", frameon=False, ncols=min(len(counters), 4), fontsize=8.5)


def _profile(axes: Axes, counters: list[dict[str, Any]], w: Wording) -> None:
    for index, counter in enumerate(counters):
        totals = [0] * 24
        days: set[str] = set()
        for per_day in counter["hourly"].values():
            for when, counts in per_day.items():
                days.add(when)
                totals = [t + c for t, c in zip(totals, counts, strict=True)]
        mean = [t / max(len(days), 1) for t in totals]
        color = PALETTE[index % len(PALETTE)]
        axes.plot(range(24), mean, color=color, marker="o", markersize=3, label=counter["device"])
        peak = counter["peak_hour"]
        if peak is not None:
            axes.annotate(w("chart_peak", hour=f"{peak['hour']:02d}h"), (peak["hour"], peak["mean"]), xytext=(4, 4),
                          textcoords="offset points", fontsize=8, color=color)
    axes.set_xticks(range(0, 24, 2))
    axes.set_xticklabels([f"{h:02d}h" for h in range(0, 24, 2)])
    axes.set_ylabel(w("chart_passages_hour"))
    axes.set_title(w("chart_average_day"), loc="left", fontsize=10.5)
    _style(axes)


def _occupancy(axes: Axes, parking: list[dict[str, Any]], overall: float | None, w: Wording) -> None:
    known = [[c["occupancy"]["by_hour"][h] for c in parking if c["occupancy"]["by_hour"][h] is not None]
             for h in range(24)]
    rates = [100 * sum(values) / len(values) if values else 0.0 for values in known]
    axes.bar(range(24), rates, color=PALETTE[5])
    axes.set_ylim(0, 100)
    axes.set_xticks(range(0, 24, 2))
    axes.set_xticklabels([f"{h:02d}h" for h in range(0, 24, 2)])
    axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0f} %")
    title = w("chart_parking", n=len(parking))
    axes.set_title(title + (w("chart_parking_share", share=w.pct(overall)) if overall is not None else ")"),
                   loc="left", fontsize=10.5)
    _style(axes)
