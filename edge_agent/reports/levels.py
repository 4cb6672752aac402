"""What a lighting group did, from the agent's own events: its level over a night, and the overrides it was held by.

The level of a group is the last level one of its members confirmed (a ``lighting.set_level`` event with
``ok``); the engine writes every member at once, so they agree but for a failed write. The level in force when a
night starts comes from the last such event before it. Where no event says anything (before the agent's first
write, or a group unchanged for longer than the history read), the level is the one the group's program asks at
that moment, and those hours are counted as *assumed*.

An override lasts from its ``lighting.override`` event to the first of: the group's next override event (a new
level, or the program resumed), its ``lighting.override_expired`` event, or its duration.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from edge_agent.frozen import frozen
from edge_agent.reading import Event
from edge_agent.rules.programs import NightPlan

SET_LEVEL = "lighting.set_level"
OVERRIDE = "lighting.override"
OVERRIDE_EXPIRED = "lighting.override_expired"
EVENT_KINDS = (SET_LEVEL, OVERRIDE, OVERRIDE_EXPIRED)


@frozen(slots=True)
class Segment:
    """From ``start`` to ``end`` the group was at ``level`` percent; ``assumed``: taken from the program."""

    start: float
    end: float
    level: int
    cause: str
    assumed: bool = False

    @property
    def seconds(self) -> float:
        return self.end - self.start


@frozen(slots=True)
class Override:
    start: float
    end: float
    level: int
    source: str


def _group_of(event: Event) -> str | None:
    group = event.data.get("group")
    return group if isinstance(group, str) else None


def confirmed_writes(events: Sequence[Event], group: str) -> list[tuple[float, int, str]]:
    """(time, level, reason) of the group's successful writes, in time order."""
    out = []
    for event in events:
        if event.kind != SET_LEVEL or _group_of(event) != group or event.data.get("ok") is not True:
            continue
        level = event.data.get("level")
        if isinstance(level, int) and not isinstance(level, bool):
            out.append((event.ts, level, str(event.data.get("reason", ""))))
    return out


def planned(plan: NightPlan, start: float, end: float) -> list[Segment]:
    """The plan's own segments over [start, end), marked assumed."""
    cuts = [start] + [step.ts for step in plan.steps if start < step.ts < end] + [end]
    return [Segment(a, b, plan.level_at(a), f"program {plan.program}", assumed=True)
            for a, b in itertools.pairwise(cuts) if b > a]


def segments(writes: Sequence[tuple[float, int, str]], plan: NightPlan) -> list[Segment]:
    """The group's level over the night of ``plan``, from its confirmed writes (any time order-sorted)."""
    start, end = plan.start, plan.end
    before = [w for w in writes if w[0] < start]
    inside = [w for w in writes if start <= w[0] < end]
    out: list[Segment] = []
    cursor = start
    if before:
        _, level, cause = before[-1]
    else:
        first = inside[0][0] if inside else end
        out.extend(planned(plan, start, first))
        cursor = first
        level, cause = (inside[0][1], inside[0][2]) if inside else (0, "")
    for ts, new_level, new_cause in inside:
        if ts > cursor:
            out.append(Segment(cursor, ts, level, cause))
            cursor = ts
        level, cause = new_level, new_cause
    if end > cursor:
        out.append(Segment(cursor, end, level, cause))
    return out


def overrides(events: Sequence[Event], group: str, start: float, end: float) -> list[Override]:
    """The group's overrides that overlap [start, end), clipped to it."""
    mine = [e for e in events if e.kind in (OVERRIDE, OVERRIDE_EXPIRED) and _group_of(e) == group]
    out = []
    for index, event in enumerate(mine):
        level = event.data.get("level")
        if event.kind != OVERRIDE or not isinstance(level, int) or isinstance(level, bool):
            continue
        finish = mine[index + 1].ts if index + 1 < len(mine) else float("inf")
        duration = event.data.get("duration_s")
        if isinstance(duration, int | float) and not isinstance(duration, bool):
            finish = min(finish, event.ts + float(duration))
        begin, finish = max(event.ts, start), min(finish, end)
        if finish > begin:
            out.append(Override(begin, finish, level, str(event.data.get("source", ""))))
    return out


def clip(pieces: Sequence[Segment], start: float, end: float) -> list[Segment]:
    """The parts of ``pieces`` inside [start, end)."""
    out = []
    for piece in pieces:
        begin, finish = max(piece.start, start), min(piece.end, end)
        if finish > begin:
            out.append(Segment(begin, finish, piece.level, piece.cause, piece.assumed))
    return out
