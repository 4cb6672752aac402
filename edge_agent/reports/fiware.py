"""The daily report in FIWARE Smart Data Models terms, for a hypervisor built on a context broker.

NGSI-LD entities in their simplified (keyValues) form, with the same ids as the NGSI-LD readings output
(``urn:ngsi-ld:<Type>:<gateway>:<device or group>``), holding only attributes the models define:

- StreetlightGroup (Streetlighting): ``activeProgramId``, ``dateLastSwitchingOn``, ``dateLastSwitchingOff``;
- StreetlightControlCabinet (Streetlighting), for each cabinet meter: ``energyConsumed`` (kWh since
  ``dateMeteringStarted``, the night's start), ``energyCost`` (at the configured tariff), ``lastMeterReading``;
- WasteContainer (WasteManagement): ``fillingLevel`` (0-1), ``dateLastEmptying``, ``nextActuationDeadline`` (when
  it reaches the collection threshold), ``location``;
- CrowdFlowObserved / TrafficFlowObserved (Transportation), by the counter's device model: ``peopleCount`` or
  ``intensity`` over ``dateObservedFrom`` - ``dateObservedTo``.

Savings, hours and parking occupancy have no Smart Data Model attribute: they stay in the native report.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from edge_agent.config.site import SiteConfig
from edge_agent.contract.contexts import Contexts
from edge_agent.contract.fiware import default_mapping
from edge_agent.contract.identity import CABINET_TYPE, GROUP_TYPE, SiteIdentities, entity_id, site_identities
from edge_agent.reports.energy import EnergyReport
from edge_agent.reports.mobility import MobilityReport
from edge_agent.reports.waste import WasteReport

COUNTS = {"CrowdFlowObserved": "peopleCount", "TrafficFlowObserved": "intensity"}


def _utc(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _kind(identities: SiteIdentities, device: str) -> str:
    found = identities.devices.get(device)
    return found.entity_type if found is not None else "Device"


def _id(identities: SiteIdentities, kind: str, device: str) -> str:
    found = identities.devices.get(device)
    return found.entity_id if found is not None else entity_id(kind, identities.gateway, device)


def _clean(entity: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entity.items() if value is not None}


def entities(config: SiteConfig, energy: EnergyReport, waste: WasteReport,
             mobility: MobilityReport) -> list[dict[str, Any]]:
    identities = site_identities(config)
    out: list[dict[str, Any]] = []
    for night in energy.nights:
        group = identities.groups.get(night.group)
        out.append(_clean({
            "id": group.entity_id if group is not None else entity_id(GROUP_TYPE, identities.gateway, night.group),
            "type": GROUP_TYPE,
            "activeProgramId": night.program or None, "dateLastSwitchingOn": _utc(night.switched_on),
            "dateLastSwitchingOff": _utc(night.switched_off),
        }))
    tariff = energy.tariff_eur_per_kwh
    for meter in energy.meters:
        if _kind(identities, meter.device) != CABINET_TYPE:
            continue  # a luminaire's own counter: no Smart Data Model attribute holds a night's energy
        out.append(_clean({
            "id": _id(identities, CABINET_TYPE, meter.device), "type": CABINET_TYPE,
            "energyConsumed": round(meter.energy_kwh, 3), "dateMeteringStarted": _utc(meter.start),
            "energyCost": round(meter.energy_kwh * tariff, 2) if tariff is not None else None,
            "lastMeterReading": meter.last_value,
        }))
    for item in waste.bins:
        if _kind(identities, item.device) != "WasteContainer":
            continue  # not a bin to the NGSI-LD output either: its fill level stays in the native report
        location = None if item.latitude is None or item.longitude is None else {
            "type": "Point", "coordinates": [item.longitude, item.latitude]}
        emptied = item.collections[-1].ts if item.collections else None
        deadline = item.full_since if item.full_since is not None else item.predicted_full
        out.append(_clean({
            "id": _id(identities, "WasteContainer", item.device), "type": "WasteContainer",
            "fillingLevel": None if item.last_fill is None else round(item.last_fill / 100.0, 3),
            "dateLastEmptying": _utc(emptied), "nextActuationDeadline": _utc(deadline), "location": location,
        }))
    start, end = mobility.days[0].start, mobility.days[-1].end
    for counter in mobility.counters:
        kind = _kind(identities, counter.device)
        if kind in COUNTS and counter.flows:
            out.append({"id": _id(identities, kind, counter.device), "type": kind, COUNTS[kind]: counter.total,
                        "dateObservedFrom": _utc(start), "dateObservedTo": _utc(end)})
    return out


def context(config: SiteConfig, entities: list[dict[str, Any]]) -> list[str]:
    """The project's context, the Smart Data Models subjects of these entities, the core context last."""
    contexts = Contexts(config.upstream.ngsi_ld.contexts_url)
    types = default_mapping().types
    subjects = dict.fromkeys(types[e["type"]].subject for e in entities if e["type"] in types)
    subject_contexts = [contexts.subject(subject) for subject in subjects]
    return [contexts.project, *subject_contexts, contexts.core]
