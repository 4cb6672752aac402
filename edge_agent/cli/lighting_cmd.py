"""``edge-agent lighting``: what each lighting group is at and why; hold a group at a level for a while; resume.

``status`` works with the agent stopped too: it then says what the program wants now and which override the
agent will resume when it starts, read from the config and the store.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer

from edge_agent.cli import render
from edge_agent.cli.access import agent_client, call, config_option, json_option, load_site, require_agent
from edge_agent.cli.output import fail, print_json
from edge_agent.config.load import LoadedConfig
from edge_agent.rules.overrides import MAX_OVERRIDE_S, resume_saved
from edge_agent.rules.programs import Place, night_plan
from edge_agent.rules.sun import SunError, night_of
from edge_agent.store.override_book import read_saved

app = typer.Typer(help="Lighting groups: their level and why; hold a group at a level for a while; resume.",
                  no_args_is_help=True)

_SPAN = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?:in)?)?$")


def parse_span(text: str) -> float:
    """'90m', '2h', '1h30m', '1d' -> seconds; from 1 minute to the longest hold allowed."""
    match = _SPAN.match(text.strip().lower())
    if not text.strip() or match is None or not any(match.groupdict().values()):
        fail(f"'{text}' is not a duration; write it like 90m, 2h, 1h30m or 1d")
    parts = {key: int(value or 0) for key, value in match.groupdict().items()}
    seconds = parts["d"] * 86_400 + parts["h"] * 3600 + parts["m"] * 60
    if not 60 <= seconds <= MAX_OVERRIDE_S:
        fail(f"'{text}' is out of range: a hold lasts from 1m to {MAX_OVERRIDE_S // 86_400}d")
    return float(seconds)


@app.command("status")
def status(config: Path = config_option(), as_json: bool = json_option()) -> None:
    """Each group's level, what set it (program, override, safe level) and its next change."""
    loaded = load_site(config)
    if not loaded.config.lighting.groups:
        fail(f"{config} has no lighting groups")
    client = agent_client(loaded)
    if client is not None:
        result = call(client, "lighting")
        groups, running = result["groups"], True
    else:
        groups, running = stopped_groups(loaded, time.time()), False
    if as_json:
        print_json({"running": running, "groups": groups})
        return
    if not running:
        typer.echo("the agent is not running: LEVEL is what the program wants now;\n"
                   "the lamps stay where they were left until the agent starts")
    typer.echo("\n".join(status_lines(groups, loaded.config.site.timezone)))


@app.command("hold")
def hold(
    group: str = typer.Argument(..., help="the lighting group"),
    level: int = typer.Argument(..., min=0, max=100, help="the level, in percent (0 is off)"),
    *,
    span: str = typer.Option(..., "--for", help="how long: 90m, 2h, 1h30m, 1d (the program resumes after)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    config: Path = config_option(),
    as_json: bool = json_option(),
) -> None:
    """Hold GROUP at LEVEL % for a while (works offline; survives a restart; goes upstream as an event)."""
    seconds = parse_span(span)
    loaded = load_site(config)
    client = require_agent(loaded, "hold a lighting group")
    if not yes and not typer.confirm(f"Hold group {group} at {level} % for {render.duration(seconds)}?",
                                     default=False):
        fail("nothing changed")
    result = call(client, "hold", group=group, level=level, duration_s=seconds)
    _print_group(result["group"], loaded.config.site.timezone, as_json)


@app.command("resume")
def resume(
    group: str = typer.Argument(..., help="the lighting group"),
    config: Path = config_option(),
    as_json: bool = json_option(),
) -> None:
    """End GROUP's override now: its program takes over at once."""
    loaded = load_site(config)
    client = require_agent(loaded, "resume a lighting group's program")
    result = call(client, "resume", group=group)
    _print_group(result["group"], loaded.config.site.timezone, as_json)


def _print_group(group: dict[str, Any], timezone: str, as_json: bool) -> None:
    if as_json:
        print_json(group)
    else:
        typer.echo("\n".join(status_lines([group], timezone)))


def status_lines(groups: list[dict[str, Any]], timezone: str) -> list[str]:
    """One row per group; times in the site's time zone, as the lighting programs are written."""
    zone = ZoneInfo(timezone)
    rows = []
    for group in groups:
        level = "-" if group["level"] is None else f"{group['level']} %"
        override = group.get("override")
        held = "-"
        if override is not None:
            left = "until cleared" if override["remaining_s"] is None else f"{render.duration(override['remaining_s'])}"
            held = f"{override['level']} % {left} ({override.get('source', 'manual')})"
        upcoming = group.get("next_change")
        after = "-" if upcoming is None else (
            f"{datetime.fromisoformat(upcoming['at']).astimezone(zone):%H:%M} → {upcoming['level']} %")
        rows.append([group["group"], group["category"], level, group["source"] or "-", held, after])
    return render.table(["GROUP", "CATEGORY", "LEVEL", "BY", "OVERRIDE", "NEXT"], rows)


def stopped_groups(loaded: LoadedConfig, now: float) -> list[dict[str, Any]]:
    """The program's level now for each group, and the override the agent would resume, without the agent."""
    config = loaded.config
    site = config.site
    place = Place(site.latitude, site.longitude, site.timezone)
    saved = {override.group: override for override in read_saved(config.store.path)}
    groups = []
    for group in config.lighting.groups:
        level: int | None
        upcoming = None
        try:
            plan = night_plan(config.lighting, group.name, night_of(now, site.timezone), place)
            level = plan.level_at(now)
            step = plan.next_change(now)
            if step is not None:
                upcoming = {"at": datetime.fromtimestamp(step.ts, UTC).isoformat(), "level": step.level}
        except SunError:
            level = None
        override = None
        if group.name in saved:
            row = saved[group.name]
            decision = resume_saved(row.duration_s, row.ends_at, now, synced=True)
            if decision.verdict != "ended":
                override = {"level": row.level, "source": row.source, "remaining_s": decision.remaining_s}
        groups.append({"group": group.name, "category": group.category.value, "level": level,
                       "source": "program" if level is not None else None, "override": override,
                       "next_change": upcoming})
    return groups
