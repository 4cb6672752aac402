"""Which energy counters measure which lighting group, in kWh, and how a counter shared by groups is split.

A group's counters are its ``meters`` in the config; without them, the ``energy`` points (``energy``,
``energy.<driver>``) of its members' devices. A counter that measures several groups (a cabinet meter on three
circuits) is split between them in proportion to what each would use at the levels it was at (installed power
times level times time); when none of them was lit, in proportion to their installed power, else evenly. The
report says when a group's energy is such a share.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge_agent.frozen import frozen
from edge_agent.reports.counters import Track, track
from edge_agent.reports.inputs import Inputs, Key
from edge_agent.rules.config import Group

KWH_PER_UNIT = {"kwh": 1.0, "wh": 0.001, "mwh": 1000.0}


@frozen
class Counter:
    """One energy counter, made monotonic, in kWh."""

    key: Key
    track: Track
    factor: float  # kWh per unit of the counter
    unit: str | None

    def kwh(self, start: float, end: float) -> float:
        return self.track.between(start, end) * self.factor


def sources(group: Group, inputs: Inputs) -> list[tuple[Key, float | None]]:
    """The (device, point) of each counter of a group, with its rollover value."""
    if group.meters:
        return [((meter.device, meter.point), meter.rollover_at) for meter in group.meters]
    devices = dict.fromkeys(member.device for member in group.members)
    return [((device, point), None) for device in devices for point in inputs.points_of(device)
            if point == "energy" or point.startswith("energy.")]


def selection_points(groups: Sequence[Group]) -> tuple[str, ...]:
    """The point names (and patterns) to read for the groups' counters."""
    names = {meter.point for group in groups for meter in group.meters}
    if any(not group.meters for group in groups):
        names |= {"energy", "energy.*"}
    return tuple(sorted(names))


def build(key: Key, rollover_at: float | None, inputs: Inputs, max_gap_s: float) -> Counter:
    unit = inputs.units.get(key)
    factor = KWH_PER_UNIT.get((unit or "kWh").lower(), 1.0)  # no unit: kWh, as every meter profile says
    jitter = 0.001 / factor  # a Wh of rounding
    samples = inputs.numbers(key)
    return Counter(key, track(samples, rollover_at=rollover_at, max_gap_s=max_gap_s, jitter=jitter), factor, unit)


def shares(modelled: dict[str, float | None], power: dict[str, float | None]) -> dict[str, float]:
    """How a counter shared by the groups named in ``modelled`` is split between them."""
    names = list(modelled)
    if len(names) == 1:
        return {names[0]: 1.0}
    known = {name: value for name, value in modelled.items() if value is not None}
    if len(known) == len(names) and sum(known.values()) > 0:
        total = sum(known.values())
        return {name: value / total for name, value in known.items()}
    watts = {name: value for name, value in power.items() if value is not None}
    if len(watts) == len(names) and sum(watts.values()) > 0:
        total = sum(watts.values())
        return {name: value / total for name, value in watts.items()}
    return {name: 1.0 / len(names) for name in names}
