"""``edge-agent schedule show``: one group's night plan as a readable timeline (or JSON)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer

from edge_agent.cli.output import fail, print_json
from edge_agent.config.load import load_config
from edge_agent.errors import ConfigError
from edge_agent.rules.programs import NightPlan, Place, night_plan
from edge_agent.rules.sun import SunError

app = typer.Typer(help="Show the lighting programs' plans.", no_args_is_help=True)


@app.command("show")
def show(
    config: Path = typer.Option(..., "--config", "-c", help="the site config (TOML)"),
    group: str = typer.Option(..., "--group", "-g", help="the lighting group"),
    day: str = typer.Option(..., "--date", "-d", help="the night's evening date, YYYY-MM-DD"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a timeline"),
) -> None:
    """Print the plan of the night that starts on the evening of DATE (noon to noon, local time)."""
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        fail("the config is not valid:\n" + "\n".join(exc.problems))
    site = loaded.config.site
    lighting = loaded.config.lighting
    try:
        evening = date.fromisoformat(day)
    except ValueError:
        fail(f"'{day}' is not a date; write YYYY-MM-DD")
    names = [g.name for g in lighting.groups]
    if group not in names:
        fail(f"no lighting group '{group}' in {config}; groups: {', '.join(names) or '(none)'}")
    place = Place(site.latitude, site.longitude, site.timezone)
    try:
        plan = night_plan(lighting, group, evening, place)
    except SunError as exc:
        fail(str(exc))
    category = lighting.group(group).category.value
    if as_json:
        print_json(plan_json(plan, category, site.timezone))
    else:
        typer.echo("\n".join(timeline(plan, category, site.commune, site.timezone)))


def _local(ts: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts, zone)


def _hm(ts: float, zone: ZoneInfo, *, weekday: bool = False) -> str:
    moment = _local(ts, zone)
    text = f"{moment:%H:%M} {moment.tzname()}"
    return f"{moment:%a} {text}" if weekday else text


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _verb(previous: int, level: int) -> str:
    if level == 0:
        return "off"
    if previous == 0:
        return f"on at {level} %"
    return f"{'dim' if level < previous else 'raise'} to {level} %"


def timeline(plan: NightPlan, category: str, commune: str, timezone: str) -> list[str]:
    """The plan as lines a technician reads: the sun used, each switch, the totals."""
    zone = ZoneInfo(timezone)
    morning = _local(plan.end, zone)
    lines = [
        f"{commune}: group '{plan.group}' ({category}), night of {plan.evening:%a %Y-%m-%d} to"
        f" {morning:%a %Y-%m-%d} ({timezone})",
        f"program '{plan.program or '(none)'}', chosen by {plan.chosen_by}",
        f"sun: sunset {_hm(plan.sun.sunset, zone)}, civil dusk {_hm(plan.sun.civil_dusk, zone)},"
        f" civil dawn {_hm(plan.sun.civil_dawn, zone)}, sunrise {_hm(plan.sun.sunrise, zone)}",
    ]
    start_offset, end_offset = _local(plan.start, zone).utcoffset(), morning.utcoffset()
    if start_offset != end_offset:
        change = "forward" if end_offset and start_offset and end_offset > start_offset else "back"
        lines.append(f"the clocks go {change} this night ({_local(plan.start, zone).tzname()} → {morning.tzname()})")
    previous = plan.steps[0].level
    if previous:
        lines.append(f"  {_hm(plan.start, zone, weekday=True):<16} already at {previous} % at noon")
    for step in plan.steps[1:]:
        lines.append(f"  {_hm(step.ts, zone, weekday=True):<16} {_verb(previous, step.level):<14} ({step.cause})")
        previous = step.level
    if len(plan.steps) == 1 and not previous:
        lines.append("  off all night")
    lines.append(_totals(plan))
    return lines


def _totals(plan: NightPlan) -> str:
    lit = dimmed = 0.0
    for index, step in enumerate(plan.steps):
        stop = plan.steps[index + 1].ts if index + 1 < len(plan.steps) else plan.end
        if step.level > 0:
            lit += stop - step.ts
        if 0 < step.level < 100:
            dimmed += stop - step.ts
    return f"lit {_duration(lit)}, of which dimmed {_duration(dimmed)}"


def plan_json(plan: NightPlan, category: str, timezone: str) -> dict[str, Any]:
    zone = ZoneInfo(timezone)

    def both(ts: float) -> dict[str, str]:
        return {"utc": datetime.fromtimestamp(ts, UTC).isoformat(), "local": _local(ts, zone).isoformat()}

    return {
        "group": plan.group,
        "category": category,
        "night_of": plan.evening.isoformat(),
        "timezone": timezone,
        "program": plan.program,
        "chosen_by": plan.chosen_by,
        "sun": {name: both(plan.sun.event(name)) for name in ("sunset", "civil_dusk", "civil_dawn", "sunrise")},
        "steps": [{**both(step.ts), "level": step.level, "cause": step.cause} for step in plan.steps],
    }
