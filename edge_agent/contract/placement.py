"""Where each reading of one device goes in its NGSI-LD entity (pure).

A reading fills the model's attribute its point maps to (converted to the model's unit, within its range or
enumeration), or else an attribute of its own (the point's name, camelCase: the project's context). A reading the
model's attribute cannot hold (no value, out of range, a unit that does not convert) is listed, whole, in the
entity's ``outOfModelReadings``. Nothing is dropped.

An attribute takes one instance per batch: the latest; the earlier ones of the batch are its history (the
temporal representation beside the entities). An object attribute (``phaseVoltage: {"L1": …}``, a luminaire
controller's ``dimmingLevelByAddress``) gathers one report: its components up to the first that repeats.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge_agent.contract.fiware import AttributeSpec, FiwareMapping, ModelSpec, Target, TypeSpec, camel
from edge_agent.frozen import frozen
from edge_agent.reading import Quality, Reading, Value
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.payloads import iso_utc

ADDRESSED_SUFFIX = "ByAddress"
RENAMED_SUFFIX = "Reading"  # a point whose own name is a term of the model's context


@frozen
class Placed:
    """One reading in its attribute: the value as the attribute holds it, and its unit code."""

    seq: int
    reading: Reading
    value: Any
    unit_code: str | None
    component: str | None = None


@dataclass
class Placement:
    slots: dict[str, list[Placed]] = field(default_factory=dict)
    composite: set[str] = field(default_factory=set)
    views: dict[str, list[tuple[str, Placed]]] = field(default_factory=dict)
    by_kind: dict[str, list[StoredRecord]] = field(default_factory=dict)
    out_of_model: list[StoredRecord] = field(default_factory=list)

    def instances(self, attribute: str) -> list[list[Placed]]:
        """The attribute's instances in seq order; an object attribute's components group into reports."""
        placed = self.slots.get(attribute, [])
        if attribute not in self.composite:
            return [[p] for p in placed]
        reports: list[list[Placed]] = []
        for item in placed:
            if not reports or any(p.component == item.component for p in reports[-1]):
                reports.append([])
            reports[-1].append(item)
        return reports

    def view_instances(self, attribute: str, prefer: Sequence[str]) -> list[list[Placed]]:
        """A model attribute taken from addressed points: per report, the preferred address's reading."""
        reports: list[dict[str, Placed]] = []
        for address, item in self.views.get(attribute, []):
            if not reports or address in reports[-1]:
                reports.append({})
            reports[-1][address] = item
        order = {address: rank for rank, address in enumerate(prefer)}
        return [[report[min(report, key=lambda a: (order.get(a, len(order)), a))]] for report in reports]


def reading_of(stored: StoredRecord) -> Reading:
    record = stored.record
    assert isinstance(record, Reading)
    return record


def finite(value: Value) -> bool:
    """A value an NGSI-LD Property can hold: not missing, not NaN or infinite."""
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def model_value(spec: AttributeSpec, model: ModelSpec, kind: str, reading: Reading, mapping: FiwareMapping) -> Any:
    """The reading as the model's attribute holds it, or None when the model cannot hold it."""
    value = reading.value
    if spec.enum is not None:
        mapped = model.enums.get(kind, {}).get(value) if not isinstance(value, str) else value
        return mapped if spec.holds(mapped) else None
    if spec.text:
        return value if spec.holds(value) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    converted = mapping.convert(value, reading.unit, spec.unit)
    if converted is None or not spec.holds(converted):
        return None
    return int(converted) if spec.integer else converted


@functools.lru_cache(maxsize=4096)
def own_name(point: str, reserved: frozenset[str]) -> str:
    """The attribute of a point the model has no attribute for: its name, never one of the model's terms."""
    name = camel(point)
    return f"{name}{RENAMED_SUFFIX}" if name in reserved else name


def place(readings: Iterable[StoredRecord], model: ModelSpec, spec: TypeSpec, mapping: FiwareMapping,
          reserved: frozenset[str]) -> Placement:
    """Place one device's readings (in seq order) into its entity's attributes."""
    out = Placement()
    latest: dict[str, Value] = {}  # each point's value so far: what an attribute's meaning may depend on
    for stored in readings:
        reading = reading_of(stored)
        latest[reading.point] = reading.value
        kind, address = model.split_address(reading.point)
        out.by_kind.setdefault(kind, []).append(stored)
        target = spec.attribute_for(kind)
        if target is not None and target.when and any(latest.get(p) != v for p, v in target.when.items()):
            target = None  # measured otherwise than the model's attribute means (a C-weighted sound level)
        if address is not None:
            _place_addressed(out, stored, kind, address, target=target, model=model, mapping=mapping,
                             reserved=reserved)
        elif target is not None:
            attribute, component = target.attribute, target.component
            value = model_value(attribute, model, kind, reading, mapping)
            if value is None:
                out.out_of_model.append(stored)
                continue
            unit = mapping.unit_code(attribute.unit or reading.unit)
            _add(out, attribute.name, Placed(stored.seq, reading, value, unit, component))
        elif finite(reading.value):
            _add(out, own_name(reading.point, reserved),
                 Placed(stored.seq, reading, reading.value, mapping.unit_code(reading.unit)))
        else:
            out.out_of_model.append(stored)
    return out


def _place_addressed(out: Placement, stored: StoredRecord, kind: str, address: str, *,
                     target: Target | None, model: ModelSpec, mapping: FiwareMapping,
                     reserved: frozenset[str]) -> None:
    reading = reading_of(stored)
    if not finite(reading.value):
        out.out_of_model.append(stored)
        return
    whole = camel(kind) + ADDRESSED_SUFFIX
    whole = f"{whole}{RENAMED_SUFFIX}" if whole in reserved else whole
    _add(out, whole, Placed(stored.seq, reading, reading.value, mapping.unit_code(reading.unit), address))
    if target is not None and target.component is None:
        attribute = target.attribute
        value = model_value(attribute, model, kind, reading, mapping)
        if value is not None:
            unit = mapping.unit_code(attribute.unit or reading.unit)
            out.views.setdefault(attribute.name, []).append((address, Placed(stored.seq, reading, value, unit)))


def _add(out: Placement, attribute: str, placed: Placed) -> None:
    out.slots.setdefault(attribute, []).append(placed)
    if placed.component is not None:
        out.composite.add(attribute)


# -- rendering ---------------------------------------------------------------------------------------------------

def sub(value: object) -> dict[str, object]:
    return {"type": "Property", "value": value}


def seq_value(seqs: Sequence[int]) -> int | list[int]:
    return seqs[0] if len(seqs) == 1 else sorted(seqs)


def render(instance: Sequence[Placed], composite: bool) -> dict[str, Any]:
    """One attribute instance: Property with observedAt, unitCode, the seq(s), and the reading's flags."""
    if len(instance) == 1:  # the usual case, kept cheap: one reading
        placed = instance[0]
        reading = placed.reading
        value: Any = {placed.component: placed.value} if composite else placed.value
        attribute: dict[str, Any] = {"type": "Property", "value": value, "observedAt": iso_utc(reading.ts)}
        if placed.unit_code:
            attribute["unitCode"] = placed.unit_code
        attribute["seq"] = sub(placed.seq)
        if not reading.clock_synced:
            attribute["clockSynced"] = sub(False)
        if reading.quality is not Quality.GOOD:
            attribute["quality"] = sub(reading.quality.label)
        return attribute
    readings = [p.reading for p in instance]
    value = {p.component: p.value for p in instance} if composite else instance[0].value
    attribute = {"type": "Property", "value": value, "observedAt": iso_utc(max(r.ts for r in readings))}
    unit = next((p.unit_code for p in instance if p.unit_code), None)
    if unit:
        attribute["unitCode"] = unit
    attribute["seq"] = sub(seq_value([p.seq for p in instance]))
    flag_reading_state(attribute, readings)
    return attribute


def flag_reading_state(attribute: dict[str, Any], readings: Sequence[Reading]) -> None:
    """``clockSynced: false`` and the worst ``quality`` when not good, as sub-properties."""
    if any(not r.clock_synced for r in readings):
        attribute["clockSynced"] = sub(False)
    worst = max((r.quality for r in readings), default=Quality.GOOD)
    if worst is not Quality.GOOD:
        attribute["quality"] = sub(worst.label)


def out_of_model(readings: Sequence[StoredRecord]) -> dict[str, Any]:
    """The readings the model's attributes cannot hold, each whole."""
    listed = []
    for stored in readings:
        reading = reading_of(stored)
        item: dict[str, Any] = {"point": reading.point, "seq": stored.seq, "observedAt": iso_utc(reading.ts),
                                "quality": reading.quality.label}
        if finite(reading.value):
            item["value"] = reading.value
        if reading.unit:
            item["unit"] = reading.unit
        listed.append(item)
    attribute: dict[str, Any] = {"type": "Property", "value": listed,
                                 "observedAt": iso_utc(max(reading_of(s).ts for s in readings)),
                                 "seq": sub(seq_value([s.seq for s in readings]))}
    if any(not reading_of(s).clock_synced for s in readings):
        attribute["clockSynced"] = sub(False)
    return attribute
