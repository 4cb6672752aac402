"""Names a site config uses for its devices: a lighting group's members and meters, an alarm rule's device.

Each must be one of the ``[[devices]]``: a typo would otherwise load and leave a street dark, or an alarm that
never fires. A rule's device may be a glob (``bin-*``): only a plain name is checked. Pure.
"""

from __future__ import annotations

from edge_agent.config.site import SiteConfig

_GLOB = frozenset("*?[")
_LISTED = 8  # device names listed in a message, at most


def unknown_devices(config: SiteConfig) -> list[tuple[str, str]]:
    """(dotted key, what is wrong and the fix) for each name that is not one of the config's devices."""
    known = [device.name for device in config.devices]
    problems: list[tuple[str, str]] = []

    def check(key: str, name: str) -> None:
        if name not in known:
            problems.append((key, _explain(name, known)))

    for g, group in enumerate(config.lighting.groups):
        for m, member in enumerate(group.members):
            check(f"lighting.groups.{g}.members.{m}.device", member.device)
        for m, meter in enumerate(group.meters):
            check(f"lighting.groups.{g}.meters.{m}.device", meter.device)
    for a, rule in enumerate(config.alarms):
        if not _GLOB & set(rule.device):
            check(f"alarms.{a}.device", rule.device)
    return problems


def _explain(name: str, known: list[str]) -> str:
    import difflib  # a wrong name only

    close = difflib.get_close_matches(name, known, n=1)
    if close:
        fix = f"did you mean '{close[0]}'?"
    elif known:
        shown = ", ".join(known[:_LISTED]) + (", ..." if len(known) > _LISTED else "")
        fix = f"fix the name (devices: {shown}) or add the device"
    else:
        fix = "add the device to [[devices]]"
    return f"'{name[:80]}' is not one of the [[devices]]; {fix}"
