"""Config models of the local rules: lighting groups, programs, calendars, alarm rules.

The lighting part follows TALQ's vocabulary: a *calendar* of ordered rules picks a *program* for a night; a
program is a list of *active periods* (fixed local times, or sunset/sunrise/civil twilight with offsets) with
levels. A time is written as ``"22:00"``, ``"sunset"``, ``"sunset+15"``, ``"sunrise-10"``, ``"civil_dusk"``.
"""

from __future__ import annotations

import enum
import re
from datetime import date, time
from typing import Annotated, Literal

from edge_agent.config.base import BeforeValidator, Field, Model, field_validator, model_validator

NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
Level = Annotated[int, Field(ge=0, le=100)]

_TIME_RE = re.compile(r"^(?:(?P<hh>\d{1,2}):(?P<mm>\d{2})|(?P<ev>[a-z_]+)\s*(?:(?P<sign>[+-])\s*(?P<off>\d{1,3}))?)$")
SUN_EVENTS = ("sunset", "sunrise", "civil_dusk", "civil_dawn")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Category(enum.StrEnum):
    """What a group lights; the decree of 27 December 2018 sets hours for all but road lighting."""

    ROAD = "road"
    HERITAGE = "heritage"
    PARK = "park"
    SHOP_WINDOW = "shop_window"
    ACTIVITY = "activity"
    CAR_PARK = "car_park"


class TimeRef(Model):
    """A point of the night: a fixed local time, or a sun event with an offset in minutes."""

    event: Literal["fixed", "sunset", "sunrise", "civil_dusk", "civil_dawn"]
    offset_min: int = 0
    local: time | None = None

    def __str__(self) -> str:
        if self.local is not None:
            return self.local.strftime("%H:%M")
        if self.offset_min:
            return f"{self.event}{self.offset_min:+d}"
        return self.event


def parse_time_ref(value: object) -> object:
    """Accept ``"HH:MM"`` or ``"sunset+15"`` (minutes) as well as the explicit form."""
    if not isinstance(value, str):
        return value
    match = _TIME_RE.match(value.strip().lower())
    if not match:
        raise ValueError(f"'{value}' is not a time; write 'HH:MM', or 'sunset', 'sunrise-15', 'civil_dusk+5'")
    if match["hh"] is not None:
        hour, minute = int(match["hh"]), int(match["mm"])
        if hour > 23 or minute > 59:
            raise ValueError(f"'{value}' is not a time of day (00:00 to 23:59)")
        return {"event": "fixed", "local": time(hour, minute)}
    if match["ev"] not in SUN_EVENTS:
        raise ValueError(f"'{match['ev']}' is not a sun event; expected one of: {', '.join(SUN_EVENTS)}")
    offset = int(match["off"] or 0) * (-1 if match["sign"] == "-" else 1)
    return {"event": match["ev"], "offset_min": offset}


When = Annotated[TimeRef, BeforeValidator(parse_time_ref)]


class Period(Model):
    """An active period: the group is at ``level`` from ``start`` to ``end``. A later period wins overlaps."""

    start: When
    end: When
    level: Level = 100

    @model_validator(mode="after")
    def _forward(self) -> Period:
        if self.start.local is not None and self.end.local is not None:
            def order(at: time) -> tuple[bool, time]:
                return (at < time(12), at)

            if order(self.end.local) <= order(self.start.local):
                raise ValueError(
                    f"period {self.start}-{self.end} is empty: a night runs from noon to noon, so the end must"
                    " come after the start within it"
                )
        return self


class Program(Model):
    """A night's lighting: active periods; outside every period the lights are off."""

    name: str = Field(pattern=NAME)
    periods: list[Period] = Field(min_length=1)


class DateSpan(Model):
    """A date, or a span of dates: ``"07-14"`` every year, ``"2026-07-13"`` once, ``"12-15/01-06"`` a season."""

    first: tuple[int | None, int, int]
    last: tuple[int | None, int, int]

    def contains(self, day: date) -> bool:
        first, last = self._resolve(self.first, day.year), self._resolve(self.last, day.year)
        if self.first[0] is None and first > last:  # a yearly span over new year (12-15/01-06)
            return day >= first or day <= last
        return first <= day <= last

    @staticmethod
    def _resolve(part: tuple[int | None, int, int], year: int) -> date:
        year_part, month, day_of_month = part
        return date(year_part if year_part is not None else year, month, min(day_of_month, 28 if month == 2 else 31))


def _parse_one_date(text: str) -> tuple[int | None, int, int]:
    parts = text.strip().split("-")
    try:
        if len(parts) == 3:
            parsed = date.fromisoformat(text.strip())
            return (parsed.year, parsed.month, parsed.day)
        if len(parts) == 2:
            month, day = int(parts[0]), int(parts[1])
            date(2000, month, day)  # checks the month and day
            return (None, month, day)
    except ValueError:
        pass
    raise ValueError(f"'{text}' is not a date; write 'MM-DD' (every year) or 'YYYY-MM-DD'")


def parse_date_span(value: object) -> object:
    if not isinstance(value, str):
        return value
    first, _, last = value.partition("/")
    start = _parse_one_date(first)
    end = _parse_one_date(last) if last else start
    if (start[0] is None) != (end[0] is None):
        raise ValueError(f"'{value}': write both ends as 'MM-DD' or both as 'YYYY-MM-DD'")
    if start[0] is not None and end < start:
        raise ValueError(f"'{value}': the span ends before it starts")
    return {"first": start, "last": end}


Dates = Annotated[DateSpan, BeforeValidator(parse_date_span)]


class CalendarRule(Model):
    """A weekly rule: nights starting on these weekdays (all when empty) run ``program``."""

    program: str
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(default_factory=list)


class DateException(Model):
    """An exception by date: these nights (by the evening's date) run ``program``, whatever the weekday."""

    program: str
    dates: list[Dates] = Field(min_length=1)
    note: str = ""


class Calendar(Model):
    """Picks a night's program: the first matching exception, else the first matching weekly rule."""

    name: str = Field(pattern=NAME)
    rules: list[CalendarRule] = Field(min_length=1)
    exceptions: list[DateException] = Field(default_factory=list)


class Member(Model):
    """An actuator of a group: a Modbus cabinet point (``circuit1_level``), or a LoRaWAN node (point None)."""

    device: str
    point: str | None = None


class Meter(Model):
    """An energy counter that measures a group: a cabinet meter's or a luminaire controller's running total.

    Its unit (kWh, Wh) comes with its readings. ``rollover_at`` is the value after which the counter starts again
    from zero (a 32-bit Wh register: 4294967.295 kWh); without it every fall of the counter is taken as a reset."""

    device: str
    point: str
    rollover_at: float | None = Field(None, gt=0, description="the counter's largest value, in its own unit")


class Group(Model):
    """Streetlights switched together, of one lighting category.

    ``power_w`` (all its luminaires at 100 %) and ``power_before_retrofit_w`` (the installation it replaced) are what
    the energy report compares the metered energy with; ``meters`` say which energy counters measure the group
    (default: the ``energy`` points of its members' devices)."""

    name: str = Field(pattern=NAME)
    category: Category = Category.ROAD
    calendar: str
    members: list[Member] = Field(min_length=1)
    safe_level: Level | None = None
    opens: time | None = None
    closes: time | None = None
    power_w: float | None = Field(None, gt=0, description="installed power of the group at 100 %, watts")
    power_before_retrofit_w: float | None = Field(None, gt=0, description="the replaced installation's power, W")
    meters: list[Meter] = Field(default_factory=list)

    @field_validator("opens", "closes", mode="before")
    @classmethod
    def _hhmm(cls, value: object) -> object:
        if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
            hour, minute = value.strip().split(":")
            return time(int(hour), int(minute))
        return value


class LightingConfig(Model):
    """Programs, calendars and groups; ``safe_level`` holds every group before the clock is synchronised."""

    safe_level: Level = 100
    tick_s: float = Field(10.0, gt=0, le=300)
    action_attempts: int = Field(4, ge=1, le=20)
    action_retry_s: float = Field(30.0, gt=0)
    programs: list[Program] = Field(default_factory=list)
    calendars: list[Calendar] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> LightingConfig:
        _unique("program", [p.name for p in self.programs])
        _unique("calendar", [c.name for c in self.calendars])
        _unique("group", [g.name for g in self.groups])
        programs = {p.name for p in self.programs}
        calendars = {c.name for c in self.calendars}
        for calendar in self.calendars:
            for name in [r.program for r in calendar.rules] + [e.program for e in calendar.exceptions]:
                if name not in programs:
                    raise ValueError(f"calendar '{calendar.name}' names program '{name}', which is not defined")
        for group in self.groups:
            if group.calendar not in calendars:
                raise ValueError(f"group '{group.name}' names calendar '{group.calendar}', which is not defined")
        return self

    def program(self, name: str) -> Program:
        return next(p for p in self.programs if p.name == name)

    def calendar(self, name: str) -> Calendar:
        return next(c for c in self.calendars if c.name == name)

    def group(self, name: str) -> Group:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(name)


class Threshold(Model):
    """A reading above ``raise_above`` (or below ``raise_below``) raises; past ``clear_at`` it clears."""

    kind: Literal["threshold"]
    name: str = Field(pattern=NAME)
    device: str = "*"
    point: str
    raise_above: float | None = None
    raise_below: float | None = None
    clear_at: float
    for_s: float = Field(0.0, ge=0)
    clear_for_s: float = Field(0.0, ge=0)
    priority: Literal["warning", "alarm", "critical"] = "alarm"

    @model_validator(mode="after")
    def _one_direction(self) -> Threshold:
        if (self.raise_above is None) == (self.raise_below is None):
            raise ValueError(f"alarm '{self.name}': give exactly one of raise_above or raise_below")
        if self.raise_above is not None and self.clear_at > self.raise_above:
            raise ValueError(f"alarm '{self.name}': clear_at must be at or below raise_above (hysteresis)")
        if self.raise_below is not None and self.clear_at < self.raise_below:
            raise ValueError(f"alarm '{self.name}': clear_at must be at or above raise_below (hysteresis)")
        return self


class Silent(Model):
    """A device (glob) that sends nothing for ``max_silence_s`` raises; its next reading clears."""

    kind: Literal["silent"]
    name: str = Field(pattern=NAME)
    device: str = "*"
    max_silence_s: float = Field(gt=0)
    priority: Literal["warning", "alarm", "critical"] = "warning"


class LampFailure(Model):
    """A circuit commanded on whose measured current stays below ``current_below`` for ``for_s``."""

    kind: Literal["lamp_failure"]
    name: str = Field(pattern=NAME)
    device: str
    command_point: str
    current_point: str
    current_below: float = Field(gt=0)
    for_s: float = Field(120.0, ge=0)
    priority: Literal["warning", "alarm", "critical"] = "alarm"


class DoorAtNight(Model):
    """A door contact (true or non-zero = open) opened between sunset and sunrise."""

    kind: Literal["door_at_night"]
    name: str = Field(pattern=NAME)
    device: str = "*"
    point: str
    for_s: float = Field(0.0, ge=0)
    priority: Literal["warning", "alarm", "critical"] = "alarm"


AlarmRule = Annotated[Threshold | Silent | LampFailure | DoorAtNight, Field(discriminator="kind")]


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} name '{name}' is used twice")
        seen.add(name)
