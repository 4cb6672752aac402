"""``edge-agent report energy|waste|mobility``: the reports computed from the local store, read-only, with or
without the agent running and whatever the state of the uplink.

Charts need the optional ``reports`` extra (matplotlib); it is imported only when ``--chart`` is given.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import typer

from edge_agent.cli import report_text
from edge_agent.cli.access import config_option, load_site
from edge_agent.cli.output import fail, output_file
from edge_agent.config.site import SiteConfig
from edge_agent.reports import encode, energy, mobility, period, waste
from edge_agent.reports.inputs import Inputs, read
from edge_agent.reports.wording import Wording
from edge_agent.rules.sun import SunError
from edge_agent.store.history import HistoryReader, Selection
from edge_agent.store.series import StoreUnreadable

app = typer.Typer(help="Reports computed from the local store: lighting energy, bins, counts.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class Lang(StrEnum):
    fr = "fr"
    en = "en"


class By(StrEnum):
    night = "night"
    month = "month"
    year = "year"


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} '{text}' is not a date; write YYYY-MM-DD")


def _dates(first: str, last: str) -> tuple[date, date]:
    start, end = _date(first, "--from"), _date(last, "--to")
    if end < start:
        fail("--to must not be before --from")
    if (end - start).days > 400:
        fail("a report covers at most 400 days; split the period")
    return start, end


def _inputs(config: SiteConfig, since: float, until: float, selection: Selection) -> Inputs:
    return _history(config, lambda reader: read(reader, since, until, selection))


def _history(config: SiteConfig, gather: Callable[[HistoryReader], Inputs]) -> Inputs:
    try:
        with HistoryReader(config.store.path) as reader:
            return gather(reader)
    except StoreUnreadable as exc:
        fail(str(exc))


def _emit(data: dict[str, Any], fmt: Format, output: Path | None, table: Callable[[], list[str]],
          write_csv: Callable[[IO[str]], None]) -> None:
    with output_file(output) as out:
        if fmt is Format.json:
            out.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        elif fmt is Format.csv:
            write_csv(out)
        else:
            out.write(report_text.lines_text(table()) + "\n")


def _words(site: SiteConfig, lang: Lang | None) -> Wording:
    return Wording(lang.value if lang is not None else site.site.language)


def _chart(kind: str, data: dict[str, Any], path: Path | None, words: Wording) -> None:
    if path is None:
        return
    if path.suffix.lower() not in {".png", ".svg"}:
        fail(f"--chart {path}: the file name must end in .png or .svg")
    try:
        from edge_agent.reports import charts
    except ImportError:
        fail("charts need matplotlib, which this installation lacks: pip install 'edge-agent[reports]'")
    try:
        charts.draw(kind, data, path, words)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
    typer.echo(f"chart written to {path}", err=True)


def _unknown(chosen: list[str], known: list[str], what: str) -> None:
    missing = sorted(set(chosen) - set(known))
    if missing:
        fail(f"no {what} {', '.join(missing)} in this report; {what}s: {', '.join(known) or '(none)'}")


FROM = typer.Option(..., "--from", help="first day (local date, YYYY-MM-DD)")
TO = typer.Option(..., "--to", help="last day, included (YYYY-MM-DD)")
FORMAT = typer.Option(Format.table, "--format", "-f", help="table, csv or json")
OUTPUT = typer.Option(None, "--output", "-o", help="write to this file (default: the screen)")
CHART = typer.Option(None, "--chart", help="also draw a chart to this .png or .svg file")
LANG = typer.Option(None, "--lang", help="language of the table and the chart: fr or en (default: site.language,"
                    " fr); csv and json keep their English names")


@app.command("energy")
def energy_cmd(
    *, first: str = FROM, last: str = TO,
    group: list[str] = typer.Option([], "--group", "-g", help="only this lighting group (repeatable)"),
    by: By = typer.Option(By.night, "--by", help="table rows: each night, each month or the year"),
    fmt: Format = FORMAT, output: Path | None = OUTPUT, chart: Path | None = CHART, lang: Lang | None = LANG,
    config: Path = config_option(),
) -> None:
    """Lighting energy per group and night (noon to noon): metered, at full power, saved, and how the lights ran."""
    site = load_site(config).config
    _unknown(group, [g.name for g in site.lighting.groups], "lighting group")
    start, end = _dates(first, last)
    nights = period.nights(start, end, ZoneInfo(site.site.timezone))
    try:
        result = energy.report(site, _history(site, lambda reader: energy.gather(reader, site, nights)), nights,
                               group or None)
    except SunError as exc:
        fail(str(exc))
    data, words = encode.energy_json(result), _words(site, lang)
    _emit(data, fmt, output, lambda: report_text.energy_table(data, by.value, words),
          lambda out: report_text.energy_csv(data, out))
    _chart("energy", data, chart, words)


@app.command("waste")
def waste_cmd(
    *, first: str = FROM, last: str = TO,
    device: list[str] = typer.Option([], "--device", "-d", help="only this bin (repeatable)"),
    fmt: Format = FORMAT, output: Path | None = OUTPUT, chart: Path | None = CHART, lang: Lang | None = LANG,
    config: Path = config_option(),
) -> None:
    """Bins: fill level, fill rate, collections, hours full, predicted full date, the bins to collect next."""
    site = load_site(config).config
    start, end = _dates(first, last)
    zone = ZoneInfo(site.site.timezone)
    since, until = period.day(start, zone).start, period.day(end, zone).end
    as_of = min(until, time.time())
    begin, finish = waste.read_span(since, as_of)
    inputs = _inputs(site, begin, finish, waste.selection())
    _unknown(device, waste.bins(site, inputs), "bin")
    result = waste.report(site, inputs, since, until, as_of=as_of, devices=device or None)
    data, words = encode.waste_json(result), _words(site, lang)
    _emit(data, fmt, output, lambda: report_text.waste_table(data, words),
          lambda out: report_text.waste_csv(data, out))
    _chart("waste", data, chart, words)


@app.command("mobility")
def mobility_cmd(
    *, first: str = FROM, last: str = TO,
    device: list[str] = typer.Option([], "--device", "-d", help="only this counter (repeatable)"),
    fmt: Format = FORMAT, output: Path | None = OUTPUT, chart: Path | None = CHART, lang: Lang | None = LANG,
    config: Path = config_option(),
) -> None:
    """Counters: passages per hour and day, peak hours; parking spaces: the occupancy rate."""
    site = load_site(config).config
    start, end = _dates(first, last)
    days = period.days(start, end, ZoneInfo(site.site.timezone))
    since, until = mobility.read_span(days)
    result = mobility.report(site, _inputs(site, since, until, mobility.selection()), days)
    _unknown(device, [c.device for c in result.counters], "counter")
    if device:
        result = replace(result, counters=[c for c in result.counters if c.device in device])
    data, words = encode.mobility_json(result), _words(site, lang)
    _emit(data, fmt, output, lambda: report_text.mobility_table(data, words),
          lambda out: report_text.mobility_csv(data, out))
    _chart("mobility", data, chart, words)


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="report")
