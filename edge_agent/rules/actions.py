"""What the rules ask of the drivers, and the port through which they ask it.

The lead implements ``ActionPort`` on the Modbus and LoRaWAN drivers: ``set_level`` writes the level, reads it
back where the device allows, and reports the outcome; it must be idempotent (writing the level a point already
has is harmless). The engine retries with limits and records each outcome as an Event.
"""

from __future__ import annotations

from typing import Protocol

from edge_agent.frozen import frozen


@frozen(slots=True)
class SetLevel:
    """Put one member of a group at ``level`` percent (0 = off)."""

    group: str
    device: str
    point: str | None
    level: int
    reason: str
    attempt: int = 1


@frozen(slots=True)
class ActionOutcome:
    """What came of a write: ``ok`` once the device took it; ``read_back`` if it was read back."""

    ok: bool
    read_back: int | None = None
    error: str | None = None


class ActionPort(Protocol):
    """The drivers' side: one call per actuator write."""

    async def set_level(self, device: str, point: str | None, level: int) -> ActionOutcome: ...
