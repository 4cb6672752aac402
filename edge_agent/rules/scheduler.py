"""Which level each group wants now, and which writes that calls for. Pure: state and time in, actions out.

The target is, in order: a manual override in force; the safe level while the clock is not synchronised; the
night plan's level at this instant. A member is written when its last confirmed level differs from the target,
so after a restart (nothing confirmed yet) every member gets the level of this very minute at once. A failed
write is retried with a doubling delay; after ``attempts`` failures it is retried once an hour.
"""

from __future__ import annotations

from dataclasses import replace

from edge_agent.frozen import frozen
from edge_agent.rules.actions import ActionOutcome, SetLevel
from edge_agent.rules.programs import NightPlan

GIVE_UP_RETRY_S = 3600.0


@frozen(slots=True)
class Target:
    level: int
    source: str  # "override", "safe" (clock not synchronised), or "program <name>"


@frozen(slots=True)
class RetryPolicy:
    attempts: int = 4
    first_delay_s: float = 30.0

    def delay(self, failures: int) -> float:
        if failures >= self.attempts:
            return GIVE_UP_RETRY_S
        return min(self.first_delay_s * 2.0 ** (failures - 1), GIVE_UP_RETRY_S)


@frozen(slots=True)
class MemberState:
    """One actuator: what it was last confirmed at, and the write being pursued."""

    device: str
    point: str | None
    confirmed: int | None = None
    wanted: int | None = None
    failures: int = 0
    next_try_mono: float = 0.0


def target(plan: NightPlan | None, override: int | None, safe_level: int, now: float, synced: bool) -> Target:
    if override is not None:
        return Target(override, "override")
    if not synced or plan is None:
        return Target(safe_level, "safe")
    return Target(plan.level_at(now), f"program {plan.program}")


def due(group: str, goal: Target, members: list[MemberState], mono: float) -> list[SetLevel]:
    """The writes to make now for ``group`` to reach ``goal``."""
    actions = []
    for member in members:
        if member.confirmed == goal.level:
            continue
        retrying = member.wanted == goal.level and member.failures > 0
        if retrying and mono < member.next_try_mono:
            continue
        attempt = member.failures + 1 if retrying else 1
        actions.append(SetLevel(group, member.device, member.point, goal.level, goal.source, attempt))
    return actions


def after(
    member: MemberState, action: SetLevel, outcome: ActionOutcome, mono: float, policy: RetryPolicy
) -> MemberState:
    """The member's state once ``action`` came out as ``outcome``."""
    if outcome.ok:
        level = action.level if outcome.read_back is None else outcome.read_back
        if level == action.level:
            return replace(member, confirmed=level, wanted=None, failures=0, next_try_mono=0.0)
    failures = member.failures + 1 if member.wanted == action.level else 1
    return replace(
        member, confirmed=None, wanted=action.level, failures=failures, next_try_mono=mono + policy.delay(failures)
    )
