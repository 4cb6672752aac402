"""The NGSI-LD output (pure): readings batches as FIWARE entities for a hypervisor built on a context broker.

One entity per device and instant (readings of one poll share their timestamp), in sequence order. Values are
converted to FIWARE's conventions here and only here (percent -> 0-1). Locations are GeoJSON ``[lon, lat]``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from edge_agent.config.site import SiteConfig
from edge_agent.contract.fiware import mapping, model_key, point_map
from edge_agent.reading import Reading
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.payloads import CONTRACT_VERSION, Batch, iso_utc

CONTEXT = [
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Streetlighting/master/context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Device/master/context.jsonld",
]


def entity_id(entity_type: str, gateway: str, device: str) -> str:
    return f"urn:ngsi-ld:{entity_type}:{gateway}:{device}"


class NgsiLdEncoder:
    """Callable as the uplink's ``batch_encoder``."""

    def __init__(self, config: SiteConfig) -> None:
        self._gateway = config.gateway_id
        self._location = [config.site.longitude, config.site.latitude]
        self._models = {device.name: model_key(device) for device in config.devices}

    def __call__(self, batch: Batch, records: Sequence[StoredRecord]) -> bytes:
        entities = self.entities(records)
        body = {"v": CONTRACT_VERSION, "gateway": self._gateway, "lane": batch.lane.value, "format": "ngsi-ld",
                "seqs": [batch.seqs[0], batch.seqs[-1]] if batch.seqs else [], "entities": entities}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode()

    def entities(self, records: Sequence[StoredRecord]) -> list[dict[str, Any]]:
        out: dict[tuple[str, float], dict[str, Any]] = {}
        for stored in records:
            reading = stored.record
            if not isinstance(reading, Reading):
                continue
            key = (reading.device, reading.ts)
            entity = out.get(key)
            if entity is None:
                entity = out[key] = self._entity(reading)
            self._attribute(entity, reading, stored.seq)
        return list(out.values())

    def _entity(self, reading: Reading) -> dict[str, Any]:
        model = mapping(self._models.get(reading.device, "unknown"))
        return {
            "id": entity_id(model.entity_type, self._gateway, reading.device),
            "type": model.entity_type,
            "@context": CONTEXT,
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": self._location}},
        }

    def _attribute(self, entity: dict[str, Any], reading: Reading, seq: int) -> None:
        point = point_map(self._models.get(reading.device, "unknown"), reading.point)
        value = reading.value
        if isinstance(value, int | float) and not isinstance(value, bool) and point.scale != 1.0:
            value = round(value * point.scale, 6)
        attribute: dict[str, Any] = {"type": "Property", "value": value, "observedAt": iso_utc(reading.ts),
                                     "seq": {"type": "Property", "value": seq}}
        unit_code = point.unit_code
        if unit_code:
            attribute["unitCode"] = unit_code
        if not reading.clock_synced:
            attribute["clockSynced"] = {"type": "Property", "value": False}
        if reading.quality.label != "good":
            attribute["quality"] = {"type": "Property", "value": reading.quality.label}
        entity[point.attribute] = attribute
