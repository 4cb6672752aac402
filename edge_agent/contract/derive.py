"""The attributes a model requires that no single point gives (pure, but for the last state kept per entity).

A streetlight's ``status`` and ``powerState`` are judged from its lamp flags, a container's ``status`` from its
fire and tilt flags, a cabinet's ``workingMode`` from its mode register; ``dateObserved`` and ``phaseType`` from
the readings and the model; relationships from the site's lighting groups. A state the batch says nothing about
is the last one judged (with its own ``observedAt``), or the model's default, which carries no ``observedAt``:
it was not observed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from edge_agent.contract.fiware import FiwareMapping, ModelSpec, StateRule, TypeSpec
from edge_agent.contract.identity import DeviceIdentity
from edge_agent.contract.placement import Placement, reading_of, seq_value, sub
from edge_agent.frozen import frozen
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.payloads import iso_utc

DATE_OBSERVED = {"ACMeasurement", "TrafficFlowObserved", "CrowdFlowObserved", "AirQualityObserved", "Device"}
_THREE_PHASE = re.compile(r".*_l[23]$")


class Known:
    """The last state judged for each entity's attribute, to restate when a batch says nothing of it."""

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, entity: str, attribute: str) -> dict[str, Any] | None:
        return self._states.get((entity, attribute))

    def put(self, entity: str, attribute: str, value: dict[str, Any]) -> None:
        self._states[(entity, attribute)] = value


def observed(value: object, sources: Sequence[StoredRecord]) -> dict[str, Any]:
    """A state judged from readings: when the newest was made, and which they were."""
    return {"type": "Property", "value": value, "observedAt": iso_utc(max(reading_of(s).ts for s in sources)),
            "seq": sub(seq_value([s.seq for s in sources]))}


def _raised(value: object, expected: object) -> bool:
    if expected is True:
        return value is True or (isinstance(value, int | float) and not isinstance(value, bool) and value == 1)
    return isinstance(value, str) and value == expected


def latest_by_point(placement: Placement, kinds: Iterable[str]) -> dict[str, StoredRecord]:
    """The newest reading of each point (each address kept apart) of these kinds."""
    latest: dict[str, StoredRecord] = {}
    for kind in kinds:
        for stored in placement.by_kind.get(kind, []):
            latest[reading_of(stored).point] = stored
    return latest


def judge_state(rule: StateRule, placement: Placement, model: ModelSpec) -> dict[str, Any] | None:
    """The first state a newest flag raises, else ``otherwise`` when flags were reported; None if none was."""
    latest = latest_by_point(placement, rule.flags())
    if not latest:
        return None
    for state, flags in rule.states:
        raised = [stored for stored in latest.values() for kind, expected in flags
                  if model.split_address(reading_of(stored).point)[0] == kind
                  and _raised(reading_of(stored).value, expected)]
        if raised:
            return observed(state, raised)
    return observed(rule.otherwise, list(latest.values())) if rule.otherwise else None


def power_state(spec: TypeSpec, placement: Placement, level: dict[str, Any] | None) -> dict[str, Any] | None:
    """off when no lamp is on, low when lit below full level, on at full level (or level unknown)."""
    latest = latest_by_point(placement, spec.lamp_on)
    lamps = [s for s in latest.values() if isinstance(reading_of(s).value, bool)]
    if not lamps:
        return None
    lit = any(reading_of(s).value is True for s in lamps)
    if not lit:
        return observed("off", lamps)
    value = level["value"] if level is not None else None
    state = "low" if isinstance(value, int | float) and value < 1 else "on"
    return observed(state, lamps)


def _restated(known: Known, entity: str, attribute: str, judged: dict[str, Any] | None,
              default: str | None) -> dict[str, Any] | None:
    if judged is not None:
        known.put(entity, attribute, judged)
        return judged
    remembered = known.get(entity, attribute)
    if remembered is not None:
        return remembered
    return sub(default) if default is not None else None


def _relationship(target: str | list[str]) -> dict[str, Any]:
    return {"type": "Relationship", "object": target}


@frozen
class Judged:
    """What one device's attributes are derived from: its identity, its model, its readings of the batch."""

    ident: DeviceIdentity
    spec: TypeSpec
    placement: Placement
    current: Mapping[str, Any]
    readings: Sequence[StoredRecord]
    known: Known
    mapping: FiwareMapping

    def points(self) -> frozenset[str]:
        return self.ident.points or frozenset(reading_of(s).point for s in self.readings)


def _streetlight(j: Judged) -> dict[str, Any]:
    out: dict[str, Any] = {"controllingMethod": sub("group" if j.ident.scheduled else "individual")}
    state = power_state(j.spec, j.placement, j.current.get("illuminanceLevel"))
    if state is not None:
        out["powerState"] = state
    if j.ident.groups:
        out["refStreetlightGroup"] = _relationship(j.ident.groups[0])
    return out


def _cabinet(j: Judged) -> dict[str, Any]:
    out: dict[str, Any] = {"refStreetlightGroup": _relationship(list(j.ident.groups))}
    entity = j.ident.entity_id
    if "workingMode" in j.current:
        j.known.put(entity, "workingMode", j.current["workingMode"])
    else:  # a controller without a mode register: driven by the agent's programs when it is in a group
        out["workingMode"] = _restated(j.known, entity, "workingMode", None,
                                       "semiautomatic" if j.ident.scheduled else "manual")
    return out


def _parking_spot(j: Judged) -> dict[str, Any]:
    gateway = j.ident.entity_id.split(":")[3]
    return {"category": sub(["onStreet"]), "refParkingSite": _relationship(f"urn:ngsi-ld:OnStreetParking:{gateway}")}


def _ac_measurement(j: Judged) -> dict[str, Any]:
    three = any(_THREE_PHASE.match(point) for point in j.points())
    return {"phaseType": sub(j.ident.spec.phase_type or ("threePhase" if three else "singlePhase"))}


def _device(j: Judged) -> dict[str, Any]:
    units = sorted({unit for s in j.readings if (unit := reading_of(s).unit)})
    return {"controlledProperty": sub(j.mapping.controlled_properties(sorted(j.points()), units))}


_BY_TYPE: dict[str, Callable[[Judged], dict[str, Any]]] = {
    "Streetlight": _streetlight, "StreetlightControlCabinet": _cabinet, "ParkingSpot": _parking_spot,
    "ACMeasurement": _ac_measurement, "Device": _device,
}


def derived(judged: Judged) -> dict[str, Any]:
    """The attributes the entity's model requires or defines from several readings."""
    out: dict[str, Any] = {}
    rule = judged.spec.status
    if rule is not None:
        status = _restated(judged.known, judged.ident.entity_id, "status",
                           judge_state(rule, judged.placement, judged.ident.spec), rule.default)
        if status is not None:
            out["status"] = status
    by_type = _BY_TYPE.get(judged.ident.entity_type)
    if by_type is not None:
        out.update(by_type(judged))
    newest = iso_utc(max(reading_of(s).ts for s in judged.readings))
    if judged.ident.entity_type in DATE_OBSERVED:
        out["dateObserved"] = sub(newest)
    elif judged.ident.entity_type == "NoiseLevelObserved":
        out["dateObservedFrom"] = sub(newest)  # a level over a period the device does not say: its instant
        out["dateObservedTo"] = sub(newest)
    return out
