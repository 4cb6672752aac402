"""A night's lighting plan: which program the calendar picks, and the (UTC instant, level) steps it makes.

Pure: dates, a place and config in, a plan out. Fixed local times are turned into instants with the zone's rules
for that very night, so a 23:00-05:00 window lasts 5 h on the March change night and 7 h on the October one; a
local time that does not exist (02:30 in March) is taken as the instant the clocks jump over it, and one that
happens twice (02:30 in October) as its first occurrence. Each step is one instant: no double switch.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge_agent.frozen import frozen
from edge_agent.rules.config import WEEKDAYS, Calendar, LightingConfig, Program, TimeRef
from edge_agent.rules.sun import NightSun, night_sun

NOON = time(12, 0)


@frozen(slots=True)
class Place:
    latitude: float
    longitude: float
    timezone: str


@frozen(slots=True)
class Step:
    """From ``ts`` (Unix seconds, UTC) on, the group is at ``level`` percent; ``cause`` says why."""

    ts: float
    level: int
    cause: str


@frozen(slots=True)
class NightPlan:
    """One group's night, noon to noon: the steps in time order, the first one at the night's start."""

    group: str
    evening: date
    program: str
    chosen_by: str
    start: float
    end: float
    sun: NightSun
    steps: tuple[Step, ...]

    def level_at(self, ts: float) -> int:
        level = self.steps[0].level
        for step in self.steps:
            if step.ts > ts:
                break
            level = step.level
        return level

    def next_change(self, ts: float) -> Step | None:
        return next((step for step in self.steps if step.ts > ts), None)


def choose_program(calendar: Calendar, evening: date) -> tuple[str, str]:
    """The program for the night starting on ``evening``, and which rule chose it."""
    for index, exception in enumerate(calendar.exceptions):
        if any(span.contains(evening) for span in exception.dates):
            note = f" ({exception.note})" if exception.note else ""
            return exception.program, f"exception {index + 1}{note}"
    weekday = WEEKDAYS[evening.weekday()]
    for index, rule in enumerate(calendar.rules):
        if not rule.weekdays or weekday in rule.weekdays:
            return rule.program, f"weekly rule {index + 1}"
    return "", "no rule"


def local_instant(day: date, at: time, zone: ZoneInfo) -> float:
    """The instant local ``day at`` names; a time in the spring gap is the instant of the jump."""
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=zone).timestamp()
    if datetime.fromtimestamp(instant, zone).replace(tzinfo=None) == naive:
        return instant
    # In the gap: the jump lies between the two readings of ``at`` (fold=1 uses the later offset).
    low, high = naive.replace(tzinfo=zone, fold=1).timestamp(), instant
    low, high = min(low, high), max(low, high)
    offset = zone.utcoffset(datetime.fromtimestamp(low, zone).replace(tzinfo=None))
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return float(high)


def resolve(ref: TimeRef, evening: date, sun: NightSun, zone: ZoneInfo) -> float:
    """The instant of a program time in the night starting on ``evening``."""
    if ref.local is not None:
        day = evening if ref.local >= NOON else evening + timedelta(days=1)
        return local_instant(day, ref.local, zone)
    return sun.event(ref.event) + 60.0 * ref.offset_min


def plan_program(program: Program, evening: date, place: Place) -> tuple[NightSun, float, float, list[Step]]:
    """Lay the program's periods over the night; a later period wins where periods overlap."""
    zone = ZoneInfo(place.timezone)
    sun = night_sun(place.latitude, place.longitude, place.timezone, evening)
    start = local_instant(evening, NOON, zone)
    end = local_instant(evening + timedelta(days=1), NOON, zone)
    spans: list[tuple[float, float, int, str]] = []
    for period in program.periods:
        begin = max(start, resolve(period.start, evening, sun, zone))
        finish = min(end, resolve(period.end, evening, sun, zone))
        if finish > begin:
            spans.append((begin, finish, period.level, f"{period.start}-{period.end}"))
    return sun, start, end, _flatten(start, spans)


def _flatten(start: float, spans: list[tuple[float, float, int, str]]) -> list[Step]:
    """Turn overlapping spans into steps at each change of level."""
    edges = sorted({start} | {s[0] for s in spans} | {s[1] for s in spans})
    steps: list[Step] = []
    for edge in edges:
        level, cause = 0, "no period"
        for begin, finish, span_level, span_cause in spans:
            if begin <= edge < finish:
                level, cause = span_level, span_cause
        if not steps or steps[-1].level != level:
            steps.append(Step(edge, level, cause))
    return steps


def night_plan(config: LightingConfig, group_name: str, evening: date, place: Place) -> NightPlan:
    """The plan of ``group_name`` for the night starting on local date ``evening``."""
    group = config.group(group_name)
    program_name, chosen_by = choose_program(config.calendar(group.calendar), evening)
    if not program_name:
        zone = ZoneInfo(place.timezone)
        sun = night_sun(place.latitude, place.longitude, place.timezone, evening)
        start = local_instant(evening, NOON, zone)
        end = local_instant(evening + timedelta(days=1), NOON, zone)
        steps = [Step(start, 0, "no calendar rule for this night")]
    else:
        sun, start, end, steps = plan_program(config.program(program_name), evening, place)
    return NightPlan(group_name, evening, program_name, chosen_by, start, end, sun, tuple(steps))
