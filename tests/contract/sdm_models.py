"""What the FIWARE Smart Data Models say of each entity type the NGSI-LD output emits, written down from their
published documentation (github.com/smart-data-models/dataModel.<Subject>/<Type>/doc/spec.md and schema.json,
read at the commits named in tests/contract/sdm/NOTICE.md), independently of drivers/fiware.yaml; and the checks
an entity must pass: required attributes, enumerations, units (UN/CEFACT codes of the units the documentation
names), ranges, relationships, names, contexts; plus validation against the official JSON Schemas (vendored in
tests/contract/sdm/, CC BY 4.0), the entity turned from its normalized form into key-values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SDM_DIR = Path(__file__).resolve().parent / "sdm"
CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
CORE_TERMS = {"id", "type", "location", "observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "@context"}
RATIO = "C62"  # "a number between 0 and 1" (and power factors, -1 to 1): dimensionless


@dataclass(frozen=True)
class SdmModel:
    subject: str
    required: frozenset[str]
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)  # attribute -> unitCode of the documented unit
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    integers: frozenset[str] = frozenset()
    relationships: frozenset[str] = frozenset()


def _f(*names: str) -> frozenset[str]:
    return frozenset(names)


# Written from each model's doc/spec.md ("Required properties", "Enum:", "Units:", "A number between ...").
SDM: dict[str, SdmModel] = {
    "Streetlight": SdmModel(
        "Streetlighting", _f("id", "type", "location", "status"),
        enums={"status": _f("brokenLantern", "columnIssue", "defectiveLamp", "ok"),
               "powerState": _f("bootingUp", "low", "off", "on"),
               "controllingMethod": _f("group", "individual")},
        units={"illuminanceLevel": RATIO, "powerFactor": RATIO},
        ranges={"illuminanceLevel": (0, 1), "powerFactor": (-1, 1), "lanternHeight": (0, None)},
        relationships=_f("refStreetlightGroup", "refStreetlightModel", "refStreetlightControlCabinet", "refDevice"),
    ),
    "StreetlightGroup": SdmModel(
        "Streetlighting", _f("id", "type", "location"),
        enums={"powerState": _f("bootingUp", "low", "off", "on")},
        units={"illuminanceLevel": RATIO},
        ranges={"illuminanceLevel": (0, 1)},
        relationships=_f("refStreetlight", "refStreetlightControlCabinet"),
    ),
    "StreetlightControlCabinet": SdmModel(
        "Streetlighting", _f("id", "type", "location", "refStreetlightGroup", "workingMode"),
        enums={"workingMode": _f("automatic", "manual", "semiautomatic"),
               "cupboardMadeOf": _f("concrete", "metal", "other", "plastic")},
        # Units: kWh, kW, A, V, Hz, kVArh; "a number between -1 and 1" for power factors
        units={"energyConsumed": "KWH", "lastMeterReading": "KWH", "totalActivePower": "KWT",
               "maximumPowerAvailable": "KWT", "activePowerR": "KWT", "activePowerS": "KWT", "activePowerT": "KWT",
               "intensityR": "AMP", "intensityS": "AMP", "intensityT": "AMP", "voltageR": "VLT", "voltageS": "VLT",
               "voltageT": "VLT", "frequency": "HTZ", "reactiveEnergyConsumed": "K3", "totalReactivePower": "KVR",
               "powerFactorR": RATIO, "powerFactorS": RATIO, "powerFactorT": RATIO},
        ranges={"energyConsumed": (0, None), "totalActivePower": (0, None), "intensityR": (0, None),
                "voltageR": (0, None), "frequency": (0, None), "powerFactorR": (-1, 1), "powerFactorS": (-1, 1),
                "powerFactorT": (-1, 1), "cosPhi": (-1, 1), "reactiveEnergyConsumed": (0, None)},
        relationships=_f("refStreetlightGroup", "refDevice"),
    ),
    "ACMeasurement": SdmModel(
        "Energy", _f("id", "type", "location", "dateObserved", "phaseType"),
        enums={"phaseType": _f("singlePhase", "threePhase")},
        # Units: Watt, kilowatt hour, volt-ampere, volt-ampere-reactive, kVArh, Volts, Ampere, Hertz
        units={"totalActivePower": "WTT", "activePower": "WTT", "totalActiveEnergyImport": "KWH",
               "totalActiveEnergyExport": "KWH", "totalApparentPower": "D46", "totalReactivePower": "D44",
               "totalReactiveEnergyImport": "K3", "totalReactiveEnergyExport": "K3", "phaseVoltage": "VLT",
               "current": "AMP", "frequency": "HTZ", "totalPowerFactor": RATIO},
        ranges={"totalActiveEnergyImport": (0, None), "totalActiveEnergyExport": (0, None),
                "totalApparentPower": (0, None), "frequency": (0, None), "totalPowerFactor": (-1, 1),
                "phaseVoltage": (0, None)},
        relationships=_f("refDevice", "refTargetDevice"),
    ),
    "WasteContainer": SdmModel(
        "WasteManagement", _f("id", "type", "location"),
        enums={"status": _f("ok", "lidOpen", "dropped", "moved", "vandalized", "burning", "unknown")},
        units={"fillingLevel": RATIO, "temperature": "CEL"},
        ranges={"fillingLevel": (0, 1), "cargoWeight": (0, None)},
        relationships=_f("refDevice", "refWasteContainerModel", "refWasteContainerIsle"),
    ),
    "CrowdFlowObserved": SdmModel(
        "Transportation", _f("id", "type", "dateObserved"),
        enums={"direction": _f("inbound", "outbound")},
        units={"averageCrowdSpeed": "KMH", "averageHeadwayTime": "SEC", "occupancy": RATIO},
        ranges={"peopleCount": (0, None), "peopleCountTowards": (0, None), "peopleCountAway": (0, None),
                "occupancy": (0, 1)},
        integers=_f("peopleCount", "peopleCountTowards", "peopleCountAway"),
        relationships=_f("refRoadSegment"),
    ),
    "TrafficFlowObserved": SdmModel(
        "Transportation", _f("id", "type", "dateObserved"),
        enums={"laneDirection": _f("forward", "backward")},
        units={"averageVehicleSpeed": "KMH", "averageGapDistance": "MTR", "averageHeadwayTime": "SEC",
               "averageVehicleLength": "MTR", "occupancy": RATIO},
        ranges={"intensity": (0, None), "averageVehicleSpeed": (0, None), "occupancy": (0, 1)},
        relationships=_f("refRoadSegment"),
    ),
    "ParkingSpot": SdmModel(
        "Parking", _f("id", "type", "location", "status", "category", "refParkingSite"),
        enums={"status": _f("closed", "free", "occupied", "unknown"), "category": _f("onStreet", "offStreet")},
        relationships=_f("refParkingSite", "refDevice"),
    ),
    "AirQualityObserved": SdmModel(
        "Environment", _f("id", "type", "dateObserved", "location"),
        enums={"typeofLocation": _f("indoor", "outdoor")},
        units={"relativeHumidity": RATIO, "pressure": "A97", "temperature": "CEL"},
        ranges={"relativeHumidity": (0, 1), "co2": (0, None), "pm10": (0, None), "pm25": (0, None)},
    ),
    "NoiseLevelObserved": SdmModel(
        "Environment", _f("id", "type", "dateObservedFrom", "dateObservedTo", "location"),
        units={"LAeq": "2N", "LAmax": "2N", "LAS": "2N"},
    ),
    "Device": SdmModel(
        "Device", _f("id", "type", "controlledProperty"),
        units={"batteryLevel": RATIO},
        ranges={"batteryLevel": (0, 1)},
        relationships=_f("refDeviceModel", "controlledAsset"),
    ),
}


def key_values(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The normalized entity in the simplified (key-values) form the models' JSON Schemas describe."""
    out: dict[str, Any] = {}
    for name, attribute in entity.items():
        if name == "@context":
            continue
        if isinstance(attribute, dict) and attribute.get("type") in ("Property", "GeoProperty"):
            value = attribute["value"]
            out[name] = value["@value"] if isinstance(value, dict) and "@value" in value else value
        elif isinstance(attribute, dict) and attribute.get("type") == "Relationship":
            out[name] = attribute["object"]
        else:
            out[name] = attribute
    return out


@cache
def context_terms(context_file: str) -> frozenset[str]:
    return frozenset(json.loads(Path(context_file).read_text())["@context"])


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    return []


def check_entity(entity: Mapping[str, Any], *, shipped_terms: bool = True) -> list[str]:
    """Every way the entity departs from its model as documented (the table above) and from NGSI-LD's rules.

    ``shipped_terms``: every attribute must be a term of its contexts (true of the shipped devices' points; a
    device model added later adds its own point names to the project's context).
    """
    kind = entity.get("type")
    model = SDM.get(str(kind))
    if model is None:
        return [f"{kind}: no such entity type in the table"]
    label = f"{entity.get('id')}"
    problems = [f"{label}: required {name} missing" for name in sorted(model.required) if name not in entity]
    context = entity.get("@context", [])
    if not (isinstance(context, list) and len(context) == 3 and context[-1] == CORE_CONTEXT):
        problems.append(f"{label}: @context {context} does not end with the core context")
    elif f"dataModel.{model.subject}" not in context[1]:
        problems.append(f"{label}: @context names {context[1]}, not the {model.subject} subject's context")
    defined = (context_terms(str(ROOT / "docs" / "contexts" / "edge-agent.jsonld"))
               | context_terms(str(ROOT / "docs" / "contexts" / "sdm" / f"dataModel.{model.subject}.jsonld"))
               | CORE_TERMS)
    for name, attribute in entity.items():
        if "." in name:
            problems.append(f"{label}: attribute {name} has a dot")
        if shipped_terms and name not in defined:
            problems.append(f"{label}: {name} is defined by none of its contexts")
        if name in ("id", "type", "@context") or not isinstance(attribute, dict):
            continue
        problems += _check_attribute(label, model, name, attribute)
    return problems


def _check_attribute(label: str, model: SdmModel, name: str, attribute: Mapping[str, Any]) -> list[str]:
    problems = []
    if name in model.relationships and attribute.get("type") != "Relationship":
        problems.append(f"{label}: {name} is not a Relationship")
    value = attribute.get("value")
    if name in model.enums:
        items = value if isinstance(value, list) else [value]
        problems += [f"{label}: {name}={item!r} is not one of {sorted(model.enums[name])}" for item in items
                     if item not in model.enums[name]]
    if name in model.units and attribute.get("unitCode") != model.units[name]:
        problems.append(f"{label}: {name} unitCode {attribute.get('unitCode')} is not {model.units[name]}")
    low, high = model.ranges.get(name, (None, None))
    for number in _numbers(value):
        if (low is not None and number < low) or (high is not None and number > high):
            problems.append(f"{label}: {name}={number} is outside [{low}, {high}]")
    if name in model.integers and not (isinstance(value, int) and not isinstance(value, bool)):
        problems.append(f"{label}: {name}={value!r} is not an integer")
    return problems


@cache
def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(SDM_DIR.glob("*.json")):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        datetime.fromisoformat(value)  # RFC 3339: a date, "T", a time and an offset or Z
        return "T" in value and (value.endswith("Z") or "+" in value[10:] or "-" in value[10:])

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlparse(value).scheme)

    return checker


@cache
def official_validator(entity_type: str) -> Draft202012Validator:
    schema = json.loads((SDM_DIR / f"{entity_type}.schema.json").read_text())
    return Draft202012Validator(schema, registry=_registry(), format_checker=_format_checker())


def official_schema_errors(entity: Mapping[str, Any]) -> list[str]:
    """The entity, as key-values, against its model's official JSON Schema."""
    validator = official_validator(str(entity["type"]))
    return [f"{entity['id']}: {list(e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(key_values(entity))]
