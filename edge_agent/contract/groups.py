"""The site's lighting groups as StreetlightGroup entities: their members, their program, their level (pure).

A group is sent with a batch that carries readings of one of its members. Its ``illuminanceLevel`` is its
members' newest level in the batch (a cabinet circuit's level point, a switched circuit's state as full or
nothing, a luminaire's dimming level),
``powerState`` follows from it, and ``activeProgramId`` is the program its calendar picks for that night.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge_agent.config.site import SiteConfig
from edge_agent.contract.fiware import NO_UNIT, FiwareMapping
from edge_agent.contract.identity import GroupIdentity, SiteIdentities
from edge_agent.contract.placement import Placed, Placement, reading_of, render, sub

LEVEL = "illuminanceLevel"


def member_levels(group: GroupIdentity, placements: Mapping[str, Placement], identities: SiteIdentities,
                  mapping: FiwareMapping) -> list[Placed]:
    """Every level reading of the group's members in the batch, as ratios."""
    found: list[Placed] = []
    for device, point in group.members:
        placement = placements.get(device)
        ident = identities.devices.get(device)
        if placement is None or ident is None:
            continue
        if point is None:
            found.extend(placement.slots.get(LEVEL, []))
            found.extend(item for _, item in placement.views.get(LEVEL, []))
            continue
        for stored in placement.by_kind.get(point, []):
            reading = reading_of(stored)
            if isinstance(reading.value, bool):  # a switched circuit: full level or off
                ratio: float | None = 1.0 if reading.value else 0.0
            elif isinstance(reading.value, int | float):
                ratio = mapping.convert(reading.value, reading.unit or "%", NO_UNIT)
            else:
                continue
            if ratio is not None and 0 <= ratio <= 1:
                found.append(Placed(stored.seq, reading, ratio, mapping.unit_code(NO_UNIT)))
    return found


def program_of(config: SiteConfig, group: GroupIdentity, ts: float) -> str | None:
    if group.implicit or not group.calendar:
        return None
    from edge_agent.rules.programs import choose_program
    from edge_agent.rules.sun import night_of

    program, _ = choose_program(config.lighting.calendar(group.calendar), night_of(ts, config.site.timezone))
    return program or None


def group_entity(group: GroupIdentity, config: SiteConfig, *, identities: SiteIdentities,
                 placements: Mapping[str, Placement], mapping: FiwareMapping, newest: float) -> dict[str, Any]:
    """The group's attributes (besides id, type, @context and location)."""
    out: dict[str, Any] = {"name": sub(group.name)}
    levels = sorted(member_levels(group, placements, identities, mapping), key=lambda p: p.seq)
    if levels:
        level = levels[-1]
        out[LEVEL] = render([level], composite=False)
        state = "off" if level.value <= 0 else "on" if level.value >= 1 else "low"
        out["powerState"] = {**out[LEVEL], "value": state}
        out["powerState"].pop("unitCode", None)
        newest = level.reading.ts
    program = program_of(config, group, newest)
    if program:
        out["activeProgramId"] = sub(program)
    members = [identities.devices[d] for d, _ in group.members if d in identities.devices]
    lights = sorted({m.entity_id for m in members if m.entity_type == "Streetlight"})
    if lights:
        out["refStreetlight"] = {"type": "Relationship", "object": lights}
    cabinets = sorted({m.entity_id for m in members if m.entity_type == "StreetlightControlCabinet"})
    if len(cabinets) == 1:
        out["refStreetlightControlCabinet"] = {"type": "Relationship", "object": cabinets[0]}
    return out
