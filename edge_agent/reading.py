"""What flows through the agent: readings of device points and events (alarms, state changes)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one point of one device at one instant (``ts``: Unix seconds, UTC)."""

    device: str
    point: str
    value: Value
    ts: float
    unit: str | None = None
    quality: Quality = Quality.GOOD
    clock_synced: bool = True


@dataclass(frozen=True, slots=True)
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
