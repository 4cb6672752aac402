"""The mapping (drivers/fiware.yaml) against the models' documentation and its own promises: its attributes are
the models' (names, units), its guesses type every shipped model as the listing does, its contexts ship, the
project's context defines every name the shipped devices' points become."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge_agent.config.site import SiteConfig
from edge_agent.contract.contexts import project_terms as shipped_project_terms
from edge_agent.contract.fiware import build_mapping, default_mapping, mapping_path
from edge_agent.contract.identity import site_identities
from edge_agent.contract.inventory import inventory_fields
from edge_agent.contract.vocabulary import project_terms, shipped_models
from edge_agent.errors import ConfigError
from tests.contract.sdm_models import SDM, SDM_DIR

ROOT = Path(__file__).resolve().parents[2]


def mapping_file() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(mapping_path().read_text())
    return data


def schema_properties(entity_type: str) -> set[str]:
    """The attribute names the model's official JSON Schema defines (its own and the common ones it references)."""
    names: set[str] = set()
    schemas = [json.loads((SDM_DIR / f"{entity_type}.schema.json").read_text())]
    common = json.loads((SDM_DIR / "common-schema.json").read_text())["definitions"]
    device = json.loads((SDM_DIR / "device-schema.json").read_text())["definitions"]
    for part in schemas[0]["allOf"]:
        if "properties" in part:
            names |= set(part["properties"])
        ref = part.get("$ref", "")
        definition = ref.rsplit("/", 1)[-1]
        names |= set((common.get(definition) or device.get(definition) or {}).get("properties", {}))
    return names


def test_every_type_the_mapping_can_emit_is_in_the_table_the_schemas_and_ships_its_context() -> None:
    mapping = default_mapping()
    batch = json.loads((ROOT / "docs" / "schemas" / "ngsi-ld-batch.json").read_text())
    inventory = json.loads((ROOT / "docs" / "schemas" / "inventory.json").read_text())
    device = inventory["properties"]["devices"]["items"]["properties"]
    inventory_types = set(device["fiware_type"]["enum"]) | {"StreetlightGroup"}  # groups are not devices
    assert set(mapping.types) == set(SDM) == set(batch["$defs"]["entityType"]["enum"]) == inventory_types
    for spec in mapping.types.values():
        assert SDM[spec.name].subject == spec.subject
        assert (ROOT / "docs" / "contexts" / "sdm" / f"dataModel.{spec.subject}.jsonld").is_file()


@pytest.mark.parametrize("entity_type", sorted(SDM))
def test_the_mappings_attributes_are_the_models_with_the_models_units(entity_type: str) -> None:
    mapping = default_mapping()
    spec = mapping.types[entity_type]
    official = schema_properties(entity_type)
    for attribute in spec.attributes.values():
        if attribute.project:
            assert attribute.name not in official, f"{attribute.name} is the model's, not the project's"
            continue
        assert attribute.name in official, f"{entity_type}.{attribute.name} is not an attribute of the model"
        documented = SDM[entity_type].units.get(attribute.name)
        if documented is not None:
            assert mapping.unit_code(attribute.unit) == documented, f"{entity_type}.{attribute.name} unit"
        if attribute.name in SDM[entity_type].enums:
            assert set(attribute.enum or ()) <= SDM[entity_type].enums[attribute.name]


def test_the_guesses_type_every_shipped_model_as_its_listing_does() -> None:
    """A device model added without a mapping entry gets a sensible type: the rules find the shipped ones'."""
    data = mapping_file()
    listed = data["models"]
    unlisted = build_mapping({**data, "models": {}})
    for key, facts in shipped_models():
        if key in listed:
            assert unlisted.model(key, facts.text, facts.points, facts.domain).entity_type == listed[key]["type"], key


def test_the_projects_context_defines_every_name_the_shipped_points_become() -> None:
    assert shipped_project_terms() == frozenset(project_terms()), (
        "docs/contexts/edge-agent.jsonld is out of date: run python -m edge_agent.contract.vocabulary")
    document = json.loads((ROOT / "docs" / "contexts" / "edge-agent.jsonld").read_text())
    assert all(iri.startswith("https://edge-agent.example/ngsi-ld/") for iri in document["@context"].values())
    assert not any("." in term for term in document["@context"])


def test_a_broken_mapping_is_named_by_file_and_key() -> None:
    data = mapping_file()
    with pytest.raises(ConfigError) as caught:
        build_mapping({**data, "models": {"x": {"type": "Lamppost"}}}, "drivers/fiware.yaml")
    assert caught.value.problems == ["drivers/fiware.yaml: models.x.type: no type 'Lamppost' under types"]
    with pytest.raises(ConfigError) as caught:
        build_mapping({**data, "units": {"V": {"cod": "VLT"}}}, "drivers/fiware.yaml")
    assert any(p.startswith("drivers/fiware.yaml: units.V.") for p in caught.value.problems)


def test_the_inventory_names_the_entity_the_output_sends() -> None:
    config = SiteConfig.model_validate({
        "gateway_id": "gw", "site": {"commune": "Esternay", "latitude": 48.7, "longitude": 3.5},
        "devices": [{"driver": "lorawan", "name": "lum", "dev_eui": "0000000000000003", "codec": "nas_ul20xx"},
                    {"driver": "modbus", "name": "compteur", "profile": "eastron_sdm120", "host": "127.0.0.1"},
                    {"driver": "simulated", "name": "sim", "points": [{"name": "p0"}]}]})
    identities = site_identities(config)
    rows = {d["name"]: (d["fiware_type"], d["fiware_id"]) for d in inventory_fields(config, {})["devices"]}
    assert rows == {"lum": ("Streetlight", "urn:ngsi-ld:Streetlight:gw:lum"),
                    "compteur": ("ACMeasurement", "urn:ngsi-ld:ACMeasurement:gw:compteur"),
                    "sim": ("Device", "urn:ngsi-ld:Device:gw:sim")}
    assert {n: (i.entity_type, i.entity_id) for n, i in identities.devices.items()} == rows


def test_config_check_says_when_no_broker_can_fetch_the_projects_context(tmp_path: Path) -> None:
    from edge_agent.config.load import load_config
    from edge_agent.config.warnings import config_warnings

    text = (ROOT / "configs" / "demo.toml").read_text()
    path = tmp_path / "site.toml"
    path.write_text(text.replace('topic_prefix = "fute"\n', 'topic_prefix = "fute"\noutput = "ngsi-ld"\n', 1))
    (warning,) = [w for w in config_warnings(load_config(path)) if "contexts_url" in w]
    assert warning.startswith(f"{path}: upstream.ngsi_ld.contexts_url is not set")
    served = text.replace('topic_prefix = "fute"\n', 'topic_prefix = "fute"\noutput = "ngsi-ld"\n'
                          '[upstream.ngsi_ld]\ncontexts_url = "http://hyperviseur.lan/contexts"\n', 1)
    path.write_text(served)
    assert not [w for w in config_warnings(load_config(path)) if "contexts_url" in w]
