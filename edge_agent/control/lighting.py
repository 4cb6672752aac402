"""The technician's lighting operations: the groups' state, and holding a group at a level for a while."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge_agent.control.protocol import RequestFailed, ok
from edge_agent.ports import LightingGroups
from edge_agent.rules.overrides import MAX_OVERRIDE_S

if TYPE_CHECKING:
    from edge_agent.control.context import ControlContext, Reply


def _rules(ctx: ControlContext) -> LightingGroups:
    rules = ctx.drivers.rules
    if rules is None:
        raise RequestFailed("this site has no lighting groups (no [[lighting.groups]] in its config)")
    return rules


def _group(args: dict[str, Any]) -> str:
    group = args.get("group")
    if not isinstance(group, str):
        raise RequestFailed(f"the group is a name, not {group!r}")
    return group


async def lighting(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    rules = _rules(ctx)
    return ok(clock_synced=ctx.clock.synced(), groups=rules.groups_status())


async def hold(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    rules = _rules(ctx)
    group = _group(args)
    level, duration = args.get("level"), args.get("duration_s")
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 100:
        raise RequestFailed(f"the level is a whole percentage from 0 to 100, not {level!r}")
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not 60 <= duration <= MAX_OVERRIDE_S:
        raise RequestFailed(f"the duration is from 1 minute to {MAX_OVERRIDE_S // 86_400} days, not {duration!r} s")
    try:  # the engine names the groups there are when it does not know this one
        await rules.set_override(group, level, float(duration), source="technician")
    except ValueError as exc:
        raise RequestFailed(str(exc)) from None
    return ok(group=rules.group_status(group))


async def resume(ctx: ControlContext, args: dict[str, Any]) -> Reply:
    rules = _rules(ctx)
    group = _group(args)
    try:
        await rules.clear_override(group, source="technician")
    except ValueError as exc:
        raise RequestFailed(str(exc)) from None
    return ok(group=rules.group_status(group))
