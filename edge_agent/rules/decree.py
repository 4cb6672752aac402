"""The French decree of 27 December 2018 on light pollution: the hours it sets, checked against the programs.

Road lighting is not covered (its hours are the mayor's decision). For the other categories, the decree sets a
time by which the lights are off and, for some, a time before which they may not come back on:

- heritage lighting: off by 01:00, not back on before sunrise;
- parks and gardens: off 1 h after closing (01:00 when no closing time is given), not back on before sunrise;
- shop windows: off by 01:00 or 1 h after the shop closes if later; back on from 07:00 or 1 h before opening;
- lighting of an economic activity: off 1 h after it ends (01:00 when not given); on from 07:00 or 1 h before;
- car parks of an activity: off 2 h after it closes (01:00 when not given); on from 07:00 or 1 h before opening.

Each program a group's calendar can pick is laid over a winter and a summer night; any lit time inside the
forbidden window is reported, naming the group, the program and the hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge_agent.config.load import LoadedConfig
from edge_agent.config.site import SiteConfig
from edge_agent.frozen import frozen
from edge_agent.rules.config import Category, Group
from edge_agent.rules.programs import NOON, Place, Step, local_instant, plan_program
from edge_agent.rules.sun import NightSun

SAMPLE_NIGHTS = (date(2026, 12, 21), date(2026, 6, 21))
ONE_AM = time(1, 0)
SEVEN_AM = time(7, 0)


@frozen(slots=True)
class Window:
    """When the decree wants the group off: from ``off_by`` to ``on_from`` (None: until sunrise)."""

    off_by: time
    on_from: time | None
    wording: str


def _shift(at: time, hours: int) -> time:
    moved = datetime.combine(date(2000, 1, 1), at) + timedelta(hours=hours)
    return moved.time()


def _night_order(at: time) -> tuple[int, time]:
    """Sort key of a time within a noon-to-noon night."""
    return (0, at) if at >= NOON else (1, at)


def window(group: Group) -> Window | None:
    """The decree's window for a group, or None for road lighting."""
    category = group.category
    if category is Category.ROAD:
        return None
    if category is Category.HERITAGE:
        return Window(ONE_AM, None, "heritage lighting off from 01:00 until sunrise")
    if category is Category.PARK:
        off = _shift(group.closes, 1) if group.closes else ONE_AM
        return Window(off, None, f"park lighting off from {off:%H:%M} (1 h after closing) until sunrise")
    on = min(SEVEN_AM, _shift(group.opens, -1)) if group.opens else SEVEN_AM
    if category is Category.SHOP_WINDOW:
        late = _shift(group.closes, 1) if group.closes else ONE_AM
        off = max(ONE_AM, late, key=_night_order)
        return Window(off, on, f"shop windows off from {off:%H:%M} to {on:%H:%M}")
    hours = 2 if category is Category.CAR_PARK else 1
    off = _shift(group.closes, hours) if group.closes else ONE_AM
    what = "car park lighting" if category is Category.CAR_PARK else "the activity's lighting"
    return Window(off, on, f"{what} off from {off:%H:%M} ({hours} h after closing) to {on:%H:%M}")


def _lit_inside(steps: list[Step], end: float, begin: float, finish: float) -> tuple[float, float, int] | None:
    """The first lit stretch of the plan inside [begin, finish): (start, stop, level)."""
    for index, step in enumerate(steps):
        step_end = steps[index + 1].ts if index + 1 < len(steps) else end
        start, stop = max(step.ts, begin), min(step_end, finish)
        if step.level > 0 and stop > start:
            return start, stop, step.level
    return None


def forbidden_span(rule: Window, evening: date, sun: NightSun, zone: ZoneInfo) -> tuple[float, float]:
    """The instants of the night of ``evening`` between which the decree wants the group off."""
    morning = evening + timedelta(days=1)
    begin = local_instant(evening if rule.off_by >= NOON else morning, rule.off_by, zone)
    finish = sun.sunrise if rule.on_from is None else local_instant(morning, rule.on_from, zone)
    return begin, finish


def group_warnings(config: SiteConfig, group: Group) -> list[str]:
    rule = window(group)
    if rule is None:
        return []
    lighting = config.lighting
    place = Place(config.site.latitude, config.site.longitude, config.site.timezone)
    zone = ZoneInfo(place.timezone)
    calendar = lighting.calendar(group.calendar)
    names = dict.fromkeys([e.program for e in calendar.exceptions] + [r.program for r in calendar.rules])
    lines = []
    for name in names:
        for evening in SAMPLE_NIGHTS:
            sun, _, end, steps = plan_program(lighting.program(name), evening, place)
            begin, finish = forbidden_span(rule, evening, sun, zone)
            lit = _lit_inside(steps, end, begin, finish)
            if lit is not None:
                start, stop, level = (datetime.fromtimestamp(lit[0], zone), datetime.fromtimestamp(lit[1], zone),
                                      lit[2])
                lines.append(
                    f"lighting group '{group.name}' ({group.category.value}): program '{name}' keeps it lit at"
                    f" {level} % from {start:%H:%M} to {stop:%H:%M} (checked on the night of {evening}); the"
                    f" decree of 27 December 2018 wants {rule.wording}"
                )
                break
    return lines


def decree_warnings(config: SiteConfig) -> list[str]:
    """One line per group and program that the decree's hours forbid."""
    return [line for group in config.lighting.groups for line in group_warnings(config, group)]


def check(loaded: LoadedConfig) -> list[str]:
    """The ``config check`` hook (registered in ``edge_agent.config.warnings.CHECKS``)."""
    return decree_warnings(loaded.config)
