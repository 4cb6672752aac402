"""The NGSI-LD output (pure, but for the last states kept): a readings batch as Smart Data Models entities.

One entity per device per batch (and one per lighting group whose members report), each attribute holding the
device's latest reading of its point with that reading's ``observedAt``; the batch's earlier readings of the
same points go in ``temporal``, the NGSI-LD temporal representation of the same entities. Upserting
``entities`` and posting ``temporal`` keeps every reading (docs/contract.md says how, for each broker).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from edge_agent.config.site import SiteConfig
from edge_agent.contract.contexts import CORE_TERMS, Contexts, subject_terms
from edge_agent.contract.derive import Judged, Known, derived
from edge_agent.contract.fiware import DEFAULT_TYPE, FiwareMapping, ModelSpec, TypeSpec, default_mapping
from edge_agent.contract.groups import group_entity
from edge_agent.contract.identity import GROUP_TYPE, DeviceIdentity, SiteIdentities, entity_id, site_identities
from edge_agent.contract.placement import Placement, out_of_model, place, reading_of, render, sub
from edge_agent.reading import Reading
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.payloads import CONTRACT_VERSION, Batch

OUT_OF_MODEL = "outOfModelReadings"


class NgsiLdEncoder:
    """Callable as the uplink's ``batch_encoder``."""

    def __init__(self, config: SiteConfig, identities: SiteIdentities | None = None,
                 mapping: FiwareMapping | None = None) -> None:
        self._config = config
        self._mapping = mapping or default_mapping()
        self._identities = identities or site_identities(config, self._mapping)
        settings = config.upstream.ngsi_ld
        self._contexts = Contexts(settings.contexts_url, settings.core_context)
        self._location = {"type": "GeoProperty",
                          "value": {"type": "Point", "coordinates": [config.site.longitude, config.site.latitude]}}
        self._known = Known()
        self._reserved: dict[str, frozenset[str]] = {}

    def __call__(self, batch: Batch, records: Sequence[StoredRecord]) -> bytes:
        entities, temporal = self.encode(records)
        body: dict[str, Any] = {"v": CONTRACT_VERSION, "gateway": self._config.gateway_id, "lane": batch.lane.value,
                                "format": "ngsi-ld", "seqs": [batch.seqs[0], batch.seqs[-1]] if batch.seqs else [],
                                "entities": entities}
        if temporal:
            body["temporal"] = temporal
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode()

    def entities(self, records: Sequence[StoredRecord]) -> list[dict[str, Any]]:
        return self.encode(records)[0]

    def encode(self, records: Sequence[StoredRecord]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The batch's entities (latest reading of each point) and their temporal representation (the rest)."""
        by_device: dict[str, list[StoredRecord]] = {}
        for stored in records:
            if isinstance(stored.record, Reading):
                by_device.setdefault(stored.record.device, []).append(stored)
        entities: list[dict[str, Any]] = []
        temporal: list[dict[str, Any]] = []
        placements: dict[str, Placement] = {}
        for device, readings in by_device.items():
            ident = self._identity(device)
            spec = self._mapping.types[ident.entity_type]
            placements[device] = placement = place(readings, ident.spec, spec, self._mapping, self._reserved_for(spec))
            current, history = self._attributes(placement, ident)
            current.update(derived(Judged(ident, spec, placement, current, readings, self._known, self._mapping)))
            entities.append({**self._head(ident.entity_id, ident.entity_type, spec.subject),
                             "location": self._location, "name": sub(device),
                             "dataProvider": sub(self._config.gateway_id), **current})
            if history:
                temporal.append({**self._head(ident.entity_id, ident.entity_type, spec.subject), **history})
        entities.extend(self._groups(placements, by_device))
        return entities, temporal

    def _groups(self, placements: dict[str, Placement],
                by_device: dict[str, list[StoredRecord]]) -> list[dict[str, Any]]:
        out = []
        subject = self._mapping.types[GROUP_TYPE].subject
        for group in self._identities.groups.values():
            reporting = [by_device[d] for d, _ in group.members if d in by_device]
            if not reporting:
                continue
            newest = max(reading_of(s).ts for readings in reporting for s in readings)
            attributes = group_entity(group, self._config, identities=self._identities, placements=placements,
                                      mapping=self._mapping, newest=newest)
            out.append({**self._head(group.entity_id, GROUP_TYPE, subject), "location": self._location,
                        "dataProvider": sub(self._config.gateway_id), **attributes})
        return out

    def _head(self, ident: str, entity_type: str, subject: str) -> dict[str, Any]:
        return {"id": ident, "type": entity_type, "@context": self._contexts.for_subject(subject)}

    def _identity(self, device: str) -> DeviceIdentity:
        known = self._identities.devices.get(device)
        if known is not None:
            return known
        # A device no longer in the config (its backlog, after a config change): a Device, as nothing says more.
        return DeviceIdentity(device, "unknown", ModelSpec(DEFAULT_TYPE),
                              entity_id(DEFAULT_TYPE, self._config.gateway_id, device))

    def _reserved_for(self, spec: TypeSpec) -> frozenset[str]:
        found = self._reserved.get(spec.name)
        if found is None:
            found = self._reserved[spec.name] = (subject_terms(spec.subject) | CORE_TERMS | frozenset(spec.attributes)
                                                 | {"name", "dataProvider", OUT_OF_MODEL})
        return found

    def _attributes(self, placement: Placement,
                    ident: DeviceIdentity) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        current: dict[str, Any] = {}
        history: dict[str, list[dict[str, Any]]] = {}
        for attribute in placement.slots:
            composite = attribute in placement.composite
            instances = placement.instances(attribute)
            current[attribute] = render(instances[-1], composite)
            if len(instances) > 1:
                history[attribute] = [render(instance, composite) for instance in instances[:-1]]
        for attribute in placement.views:
            if attribute in placement.slots:
                continue  # the device reports it directly as well: that reading is the attribute
            instances = placement.view_instances(attribute, ident.spec.prefer)
            current[attribute] = render(instances[-1], composite=False)
            if len(instances) > 1:
                history[attribute] = [render(instance, composite=False) for instance in instances[:-1]]
        if placement.out_of_model:
            current[OUT_OF_MODEL] = out_of_model(placement.out_of_model)
        return current, history
