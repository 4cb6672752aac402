"""Alarms from readings: hysteresis, minimum duration, silence. Pure: readings and instants in, changes out.

Each (rule, device, point) has a two-state machine. A reading puts it in the *raise* region (True), the *clear*
region (False) or the band between (None). An inactive alarm raises once the raise region has held for
``for_s``; an active one clears once the clear region has held for ``clear_for_s``; the band holds the state and
restarts either wait, so noise around one threshold never makes an alarm flap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from edge_agent.frozen import frozen
from edge_agent.reading import Reading, Value
from edge_agent.rules.config import AlarmRule, DoorAtNight, LampFailure, Silent, Threshold

Commanded = Callable[[str, str], int | None]


@frozen(slots=True)
class AlarmChange:
    rule: str
    device: str
    point: str | None
    raised: bool
    ts: float
    value: Value
    priority: str
    message: str


@dataclass(slots=True)
class Hysteresis:
    """One alarm's state: active or not, and since when the contrary region has held."""

    active: bool = False
    since: float | None = None
    last: bool | None = None
    value: Value = None

    def update(self, region: bool | None, ts: float, raise_for_s: float, clear_for_s: float) -> bool | None:
        """Feed a region at ``ts``; True when the alarm raises, False when it clears, None otherwise."""
        self.last = region
        contrary = region is (not self.active)
        if not contrary:
            self.since = None
            return None
        if self.since is None:
            self.since = ts
        if ts - self.since >= (clear_for_s if self.active else raise_for_s):
            self.active = not self.active
            self.since = None
            return self.active
        return None


def number(value: Value) -> float | None:
    """A reading's value as a finite number, or None (text, None, NaN)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def threshold_region(rule: Threshold, value: float) -> bool | None:
    if rule.raise_above is not None:
        return True if value > rule.raise_above else (False if value < rule.clear_at else None)
    assert rule.raise_below is not None
    return True if value < rule.raise_below else (False if value > rule.clear_at else None)


def lamp_region(rule: LampFailure, current: float, commanded: int | None) -> bool | None:
    if commanded is None:
        return None
    return commanded > 0 and current < rule.current_below


def door_region(open_: float, dark: bool) -> bool | None:
    if not open_:
        return False
    return True if dark else None


class Alarms:
    """Every alarm rule's state for one site."""

    def __init__(self, rules: Sequence[AlarmRule], devices: Sequence[str], start: float) -> None:
        self.rules = list(rules)
        self._states: dict[tuple[int, str, str | None], Hysteresis] = {}
        self._last_seen: dict[str, float] = {}
        self.bad_values = 0
        for rule in self.rules:
            if isinstance(rule, Silent):
                for device in devices:
                    if fnmatchcase(device, rule.device):
                        self._last_seen.setdefault(device, start)

    def observe(self, reading: Reading, commanded: Commanded, dark: bool) -> list[AlarmChange]:
        """Feed one reading; returns the alarms it raised or cleared."""
        changes = self._seen(reading.device, reading.ts)
        for index, rule in enumerate(self.rules):
            region, point = self._region(rule, reading, commanded, dark)
            if point is None:
                continue
            for_s = getattr(rule, "for_s", 0.0)
            changes.extend(self._update(index, reading.device, point, region, reading.ts, for_s, reading.value))
        return changes

    def poll(self, now: float) -> list[AlarmChange]:
        """Let time pass: minimum durations run out, silent devices raise."""
        changes: list[AlarmChange] = []
        for (index, device, point), state in list(self._states.items()):
            rule = self.rules[index]
            if not isinstance(rule, Silent):
                changes.extend(self._update(index, device, point, state.last, now, getattr(rule, "for_s", 0.0), None))
        for index, rule in enumerate(self.rules):
            if isinstance(rule, Silent):
                for device, seen in self._last_seen.items():
                    if fnmatchcase(device, rule.device):
                        silent = now - seen > rule.max_silence_s
                        changes.extend(self._update(index, device, None, silent, now, 0.0, round(now - seen)))
        return changes

    def active(self) -> list[tuple[str, str, str | None]]:
        """The alarms raised now, as (rule name, device, point)."""
        return [(self.rules[i].name, device, point) for (i, device, point), s in self._states.items() if s.active]

    def _seen(self, device: str, ts: float) -> list[AlarmChange]:
        self._last_seen[device] = max(ts, self._last_seen.get(device, ts))
        changes: list[AlarmChange] = []
        for index, rule in enumerate(self.rules):
            if isinstance(rule, Silent) and fnmatchcase(device, rule.device):
                changes.extend(self._update(index, device, None, False, ts, 0.0, 0))
        return changes

    def _region(
        self, rule: AlarmRule, reading: Reading, commanded: Commanded, dark: bool
    ) -> tuple[bool | None, str | None]:
        """The region a reading puts a rule in, and the point it concerns (None: not for this rule)."""
        if isinstance(rule, Silent) or not fnmatchcase(reading.device, rule.device):
            return None, None
        wanted = rule.current_point if isinstance(rule, LampFailure) else rule.point
        if reading.point != wanted:
            return None, None
        value = number(reading.value)
        if value is None:
            self.bad_values += 1
            return None, None
        if isinstance(rule, Threshold):
            return threshold_region(rule, value), wanted
        if isinstance(rule, LampFailure):
            return lamp_region(rule, value, commanded(reading.device, rule.command_point)), wanted
        assert isinstance(rule, DoorAtNight)
        return door_region(value, dark), wanted

    def _update(  # noqa: PLR0917
        self, index: int, device: str, point: str | None, region: bool | None, ts: float, for_s: float,
        value: Value,
    ) -> list[AlarmChange]:
        rule = self.rules[index]
        state = self._states.setdefault((index, device, point), Hysteresis())
        if value is None:
            value = state.value
        state.value = value
        clear_for_s = rule.clear_for_s if isinstance(rule, Threshold) else 0.0
        flipped = state.update(region, ts, for_s, clear_for_s)
        if flipped is None:
            return []
        message = _message(rule, device, point, flipped, value)
        return [AlarmChange(rule.name, device, point, flipped, ts, value, rule.priority, message)]


def _message(rule: AlarmRule, device: str, point: str | None, raised: bool, value: Value) -> str:
    where = f"{device}.{point}" if point else device
    if isinstance(rule, Silent):
        return f"{where} silent for {value} s" if raised else f"{where} heard again"
    if isinstance(rule, LampFailure):
        what = "current near zero while commanded on (lamp or fuse failure)"
        return f"{where}: {what}" if raised else f"{where}: current back"
    if isinstance(rule, DoorAtNight):
        return f"{where}: door open at night" if raised else f"{where}: door closed"
    state = "raised" if raised else "cleared"
    return f"{where} = {value}: alarm '{rule.name}' {state}"
