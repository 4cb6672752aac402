"""What flows through the agent: readings of device points and events (alarms, state changes)."""

from __future__ import annotations

import enum
from dataclasses import field
from typing import Any, NamedTuple

from edge_agent.frozen import frozen

Value = float | int | bool | str | None


class Quality(enum.IntEnum):
    """How much a value can be trusted (OPC-UA's three classes)."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Priority(enum.IntEnum):
    """Event priority. Anything above ROUTINE is an alarm: sent first, never dropped."""

    ROUTINE = 0
    INFO = 1
    WARNING = 2
    ALARM = 3
    CRITICAL = 4


class Reading(NamedTuple):
    """One value of one point of one device at one instant (``ts``: Unix seconds, UTC).

    A named tuple, not a frozen dataclass: one is built per point polled, and a named tuple builds in a third of
    the time (a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``). Immutable all
    the same; read it by field name."""

    device: str
    point: str
    value: Value
    ts: float
    unit: str | None = None
    quality: Quality = Quality.GOOD
    clock_synced: bool = True


@frozen(slots=True)
class Event:
    """Something that happened: an alarm raised or cleared, a device offline, a store dropping data."""

    kind: str
    ts: float
    priority: Priority = Priority.INFO
    device: str | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    clock_synced: bool = True


Record = Reading | Event
