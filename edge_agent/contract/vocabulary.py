"""The project's own NGSI-LD terms: the sub-properties it adds, and every attribute a shipped device's points
become outside its model's attributes. ``docs/contexts/edge-agent.jsonld`` defines exactly these;
``python -m edge_agent.contract.vocabulary`` writes it again after a device model or the mapping changed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

from edge_agent.config.devices import SimulatedDeviceConfig
from edge_agent.config.load import load_config
from edge_agent.contract.contexts import CORE_TERMS, PROJECT_CONTEXT_FILE, PROJECT_NAMESPACE, subject_terms
from edge_agent.contract.fiware import FiwareMapping, default_mapping
from edge_agent.contract.identity import Facts, device_facts
from edge_agent.contract.placement import place
from edge_agent.lorawan.codecs import default_registry
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.modbus.config import ModbusDeviceConfig
from edge_agent.modbus.profile import available_profiles
from edge_agent.reading import Reading
from edge_agent.resources import configs_dir, contexts_dir
from edge_agent.store.rows import StoredRecord

SUB_PROPERTIES = ("seq", "quality", "clockSynced")
ENTITY_TERMS = ("outOfModelReadings",)
# What the LoRaWAN side adds to every uplink's decoded points (edge_agent/lorawan/records.py).
RADIO_POINTS = ("lorawan.f_cnt", "lorawan.f_port", "lorawan.payload", "lorawan.rssi", "lorawan.snr",
                "lorawan.spreading_factor", "lorawan.gateway")


def shipped_models() -> list[tuple[str, Facts]]:
    """Every shipped Modbus profile and LoRaWAN codec, and the simulated devices of the shipped sites."""
    models: list[tuple[str, Facts]] = []
    for profile in available_profiles():
        modbus = ModbusDeviceConfig(driver="modbus", name="x", profile=profile, host="127.0.0.1")
        models.append((profile, device_facts(modbus)))
    for codec in default_registry().names():
        lorawan = LorawanDeviceConfig(driver="lorawan", name="x", dev_eui="0011223344556677", codec=codec)
        facts = device_facts(lorawan)
        models.append((codec, Facts(facts.text, facts.points | frozenset(RADIO_POINTS), facts.domain)))
    for path in sorted(configs_dir().glob("*.toml")):
        for simulated in load_config(path).config.devices:
            if isinstance(simulated, SimulatedDeviceConfig):
                models.append(("simulated", device_facts(simulated)))
    return models


def model_terms(key: str, facts: Facts, mapping: FiwareMapping) -> set[str]:
    """The attributes of the project's own that this model's points become."""
    model = mapping.model(key, facts.text, facts.points, facts.domain)
    spec = mapping.types[model.entity_type]
    reserved = subject_terms(spec.subject) | CORE_TERMS | frozenset(spec.attributes)
    readings = [StoredRecord(n, Reading("x", point, 0, 0.0), False) for n, point in enumerate(sorted(facts.points))]
    placement = place(readings, model, spec, mapping, reserved)
    names = set(placement.slots) - set(spec.attributes)
    names |= {name for name, attribute in spec.attributes.items() if attribute.project}
    return names - subject_terms(spec.subject)


def project_terms(models: Iterable[tuple[str, Facts]] | None = None, mapping: FiwareMapping | None = None) -> list[str]:
    mapping = mapping or default_mapping()
    terms = set(SUB_PROPERTIES) | set(ENTITY_TERMS)
    for key, facts in models if models is not None else shipped_models():
        terms |= model_terms(key, facts, mapping)
    return sorted(terms)


def context_document(terms: Iterable[str]) -> dict[str, object]:
    return {"@context": {term: f"{PROJECT_NAMESPACE}{term}" for term in sorted(terms)}}


def main() -> int:
    path = contexts_dir() / PROJECT_CONTEXT_FILE
    path.write_text(json.dumps(context_document(project_terms()), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
