"""The NGSI-LD output against the Smart Data Models as published: every entity type each shipped site, each shipped
device model and each guessed kind emits is checked against the table written from the models' documentation
(tests/contract/sdm_models.py) and against the models' official JSON Schemas; units, enumerations and the
one-entity-per-device batch are checked value by value."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config.load import load_config
from edge_agent.config.site import SiteConfig
from edge_agent.contract.ngsi_ld import NgsiLdEncoder
from edge_agent.lorawan.codecs import default_registry
from edge_agent.modbus.profile import available_profiles
from edge_agent.reading import Quality, Reading
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.lanes import Lane
from edge_agent.sync.payloads import Batch
from tests.contract.sdm_models import SDM, check_entity, official_schema_errors
from tests.contract.site_readings import NOW, site_records
from tests.contract.support import Schemas

ROOT = Path(__file__).resolve().parents[2]
SITES = sorted((ROOT / "configs").glob("*.toml"))
SITE = {"gateway_id": "gw", "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603}}


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas()


def site(devices: list[dict[str, Any]], **extra: Any) -> SiteConfig:
    return SiteConfig.model_validate({**SITE, "devices": devices, **extra})


def encode(config: SiteConfig, records: list[StoredRecord]) -> dict[str, Any]:
    seqs = [r.seq for r in records]
    body: dict[str, Any] = json.loads(NgsiLdEncoder(config)(Batch(Lane.LIVE, seqs, b"", []), records))
    return body


def problems(entities: Iterable[dict[str, Any]], *, shipped_terms: bool = True) -> list[str]:
    found: list[str] = []
    for entity in entities:
        found += check_entity(entity, shipped_terms=shipped_terms) + official_schema_errors(entity)
    return found


def carried_seqs(body: dict[str, Any]) -> set[int]:
    """Every seq the batch's attributes carry, in the entities or in their temporal representation."""
    seqs: set[int] = set()

    def collect(attribute: dict[str, Any]) -> None:
        seq = attribute.get("seq", {}).get("value")
        seqs.update(seq if isinstance(seq, list) else [seq] if seq is not None else [])

    for entity in body["entities"]:
        for attribute in entity.values():
            if isinstance(attribute, dict) and attribute.get("type") == "Property":
                collect(attribute)
    for entity in body.get("temporal", []):
        for instances in entity.values():
            if isinstance(instances, list) and instances and isinstance(instances[0], dict):
                for instance in instances:
                    collect(instance)
    return seqs


@pytest.mark.parametrize("path", SITES, ids=lambda p: p.stem)
def test_every_entity_a_shipped_site_emits_is_its_model_as_published(path: Path, schemas: Schemas) -> None:
    config = load_config(path).config
    records = site_records(config, polls=2)
    body = encode(config, records)
    schemas.check("ngsiLdBatch", body)
    assert problems(body["entities"]) == []
    ids = [e["id"] for e in body["entities"]]
    assert len(ids) == len(set(ids)), "one entity per device per batch"
    assert len(body["entities"]) == len(config.devices) + len(config.lighting.groups)
    assert carried_seqs(body) == {r.seq for r in records}, "every reading of the batch is carried"
    emitted = {e["type"] for e in body["entities"]}
    assert emitted <= set(SDM)
    assert "Device" not in emitted, "every shipped device kind has its model"


# The right type for each shipped device model (a model added later must be valid, whatever its type).
TYPE_OF = {
    "eastron_sdm120": "ACMeasurement", "eastron_sdm630": "ACMeasurement", "schneider_iem3255": "ACMeasurement",
    "carlo_gavazzi_em111": "ACMeasurement", "streetlight_cabinet_4c": "StreetlightControlCabinet",
    "traffic_counter": "TrafficFlowObserved", "nas_ul20xx": "Streetlight",
    "milesight_ws558": "StreetlightControlCabinet", "dragino_lt22222l": "StreetlightControlCabinet",
    "yobiiq_rm200": "StreetlightControlCabinet", "yobiiq_rm200_fw21": "StreetlightControlCabinet",
    "elvexys_lem302": "StreetlightControlCabinet",
    "dingtek_df702": "WasteContainer", "dingtek_df555": "WasteContainer", "dragino_ldds75": "WasteContainer",
    "milesight_em310_udl": "WasteContainer", "milesight_em400_udl": "WasteContainer",
    "pepperl_fuchs_wilsen_sonic_level": "WasteContainer", "teneo_filling_degree": "WasteContainer",
    "parametric_pcr2": "CrowdFlowObserved", "imbuildings_people_counter": "CrowdFlowObserved",
    "milesight_vs121": "CrowdFlowObserved", "milesight_vs133": "CrowdFlowObserved",
    "bosch_parking_lot_sensor": "ParkingSpot", "milesight_am307": "AirQualityObserved",
    "elsys_ers": "AirQualityObserved", "milesight_ws302": "NoiseLevelObserved",
    "adeunis_pulse": "Device", "milesight_em300_di": "Device", "nas_cm30xx": "Device",
    "milesight_em500_swl": "Device", "milesight_em300_zld": "Device", "dragino_lwl03a": "Device",
    "milesight_ws301": "Device", "dragino_lds02": "Device", "adeunis_dry_contacts": "Device",
}


def every_model_site() -> SiteConfig:
    """One device of each shipped Modbus profile and LoRaWAN codec, the controllers in lighting groups."""
    devices: list[dict[str, Any]] = [
        {"driver": "modbus", "name": f"mb-{profile.replace('_', '-')}", "profile": profile, "host": "127.0.0.1",
         "unit": n + 1} for n, profile in enumerate(available_profiles())]
    devices += [{"driver": "lorawan", "name": f"lw-{codec.replace('_', '-')}", "codec": codec,
                 "dev_eui": f"{n + 1:016x}"} for n, codec in enumerate(default_registry().names())]
    lighting = {"programs": [{"name": "night", "periods": [{"start": "sunset", "end": "sunrise", "level": 80}]}],
                "calendars": [{"name": "always", "rules": [{"program": "night"}]}],
                "groups": [{"name": "rue", "calendar": "always", "members": [
                    {"device": "lw-nas-ul20xx"}, {"device": "lw-milesight-ws558", "point": "switch_1"}]}]}
    return site(devices, lighting=lighting)


def test_every_shipped_device_model_emits_its_model_as_published(schemas: Schemas) -> None:
    config = every_model_site()
    records = site_records(config, polls=3)
    body = encode(config, records)
    schemas.check("ngsiLdBatch", body)
    assert problems(body["entities"]) == []
    emitted = {e["name"]["value"]: e["type"] for e in body["entities"] if e["type"] != "StreetlightGroup"}
    for name, entity_type in emitted.items():
        model = name.removeprefix("mb-").removeprefix("lw-").replace("-", "_")
        expected = TYPE_OF.get(model)
        assert expected is None or entity_type == expected, f"{model} is a {entity_type}, not a {expected}"
    groups = {e["name"]["value"] for e in body["entities"] if e["type"] == "StreetlightGroup"}
    cabinets = {n for n, t in emitted.items() if t == "StreetlightControlCabinet"} - {"lw-milesight-ws558"}
    assert groups == {"rue"} | cabinets, "a cabinet in no configured group is the group of its own circuits"
    assert carried_seqs(body) == {r.seq for r in records}


GUESSED = [
    ("parking sensor", ["occupied", "battery"], "ParkingSpot"),
    ("air quality sensor", ["co2", "temperature", "humidity", "pm2_5", "pm10", "tvoc"], "AirQualityObserved"),
    ("noise sensor", ["laeq", "lamax"], "NoiseLevelObserved"),
    ("bin level sensor", ["distance", "fill_level", "battery"], "WasteContainer"),
    ("people counter", ["count_in", "count_out"], "CrowdFlowObserved"),
    ("three-phase meter", ["voltage_l1", "voltage_l2", "voltage_l3", "current_l1", "current_l2", "current_l3",
                           "active_power", "import_active_energy"], "ACMeasurement"),
    ("luminaire controller", ["dimming_level", "lamp_on", "power"], "Streetlight"),
    ("water leak sensor", ["leak", "battery"], "Device"),
    ("door contact", ["door_open"], "Device"),
    ("pulse counter", ["pulses", "water_volume"], "Device"),
]


@pytest.mark.parametrize(("model", "points", "expected"), GUESSED, ids=[g[0] for g in GUESSED])
def test_a_model_the_mapping_does_not_list_is_typed_by_its_points(model: str, points: list[str],
                                                                  expected: str) -> None:
    config = site([{"driver": "simulated", "name": "dev", "model": model,
                    "points": [{"name": p, "base": 1.0, "amplitude": 0.0} for p in points]}])
    body = encode(config, site_records(config, polls=2))
    (entity,) = body["entities"]
    assert entity["type"] == expected
    assert problems([entity], shipped_terms=False) == []  # its point names are not the shipped context's
    if expected == "Device":
        assert entity["controlledProperty"]["value"], "a Device says what it measures"


def reading(device: str, point: str, value: Any, unit: str | None = None, ts: float = NOW, **kw: Any) -> Reading:
    return Reading(device, point, value, ts, unit, **kw)


def numbered(readings: list[Reading], first: int = 1) -> list[StoredRecord]:
    return [StoredRecord(first + n, r, False) for n, r in enumerate(readings)]


def one(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in body["entities"] if e.get("name", {}).get("value") == name)


def test_units_and_scales_are_the_models() -> None:
    config = site([{"driver": "lorawan", "name": "ws", "dev_eui": "0000000000000001", "codec": "milesight_ws558"},
                   {"driver": "modbus", "name": "armoire", "profile": "streetlight_cabinet_4c", "host": "127.0.0.1"},
                   {"driver": "lorawan", "name": "bin", "dev_eui": "0000000000000002", "codec": "milesight_em310_udl"}])
    body = encode(config, numbered([
        reading("ws", "current", 2, "mA"), reading("ws", "power_factor", 97, "%"), reading("ws", "energy", 1500, "Wh"),
        reading("ws", "active_power", 1250, "W"), reading("ws", "voltage", 222.6, "V"),
        reading("armoire", "active_power", 2700, "W"), reading("armoire", "energy", 48210.5, "kWh"),
        reading("armoire", "mode", 1), reading("armoire", "circuit1_level", 50, "%"),
        reading("bin", "fill_level", 85.0, "%"), reading("bin", "battery", 92, "%"),
    ]))
    ws, armoire, bin_ = one(body, "ws"), one(body, "armoire"), one(body, "bin")
    assert (ws["intensityR"]["value"], ws["intensityR"]["unitCode"]) == (0.002, "AMP")  # mA -> A
    assert (ws["powerFactorR"]["value"], ws["powerFactorR"]["unitCode"]) == (0.97, "C62")  # % -> 0-1
    assert (ws["energyConsumed"]["value"], ws["energyConsumed"]["unitCode"]) == (1.5, "KWH")  # Wh -> kWh
    assert (ws["totalActivePower"]["value"], ws["totalActivePower"]["unitCode"]) == (1.25, "KWT")  # W -> kW
    assert (armoire["totalActivePower"]["value"], armoire["totalActivePower"]["unitCode"]) == (2.7, "KWT")
    assert armoire["workingMode"]["value"] == "semiautomatic"  # register 1: driven by the agent
    assert (armoire["circuit1Level"]["value"], armoire["circuit1Level"]["unitCode"]) == (50, "P1")  # its own: as read
    assert (bin_["fillingLevel"]["value"], bin_["batteryLevel"]["value"]) == (0.85, 0.92)
    assert not any("." in name for entity in body["entities"] for name in entity)


def test_a_luminaire_controller_is_a_streetlight_with_status_and_power_state() -> None:
    config = site([{"driver": "lorawan", "name": "lum", "dev_eui": "0000000000000003", "codec": "nas_ul20xx"}])
    body = encode(config, numbered([
        reading("lum", "dimming_level.dali_broadcast", 40, "%"), reading("lum", "lamp_on.dali_broadcast", True),
        reading("lum", "alarm.lamp_failure.dali_broadcast", False), reading("lum", "power.dali_single_0", 38, "W"),
        reading("lum", "dimming_level.dali_broadcast", 60, "%", ts=NOW + 600),
        reading("lum", "lamp_on.dali_broadcast", True, ts=NOW + 600),
        reading("lum", "alarm.lamp_failure.dali_broadcast", True, ts=NOW + 600),
    ]))
    (lum,) = body["entities"]
    assert lum["type"] == "Streetlight" and problems([lum]) == []
    assert lum["status"]["value"] == "defectiveLamp" and lum["status"]["seq"]["value"] == 7
    assert lum["powerState"]["value"] == "low"  # lit at 60 %
    assert lum["illuminanceLevel"]["value"] == 0.6 and lum["illuminanceLevel"]["seq"]["value"] == 5
    assert lum["dimmingLevelByAddress"]["value"] == {"dali_broadcast": 60}
    assert lum["powerConsumption"]["value"] == 38
    (history,) = body["temporal"]
    assert [i["value"] for i in history["illuminanceLevel"]] == [0.4]
    assert [i["value"] for i in history["dimmingLevelByAddress"]] == [{"dali_broadcast": 40}]


def test_a_state_the_batch_does_not_report_is_the_last_judged_or_the_models_unobserved_default() -> None:
    config = site([{"driver": "lorawan", "name": "lum", "dev_eui": "0000000000000003", "codec": "nas_ul20xx"},
                   {"driver": "modbus", "name": "armoire", "profile": "streetlight_cabinet_4c", "host": "127.0.0.1"}])
    encoder = NgsiLdEncoder(config)
    first = encoder.entities(numbered([reading("lum", "energy.dali_single_0", 1200, "Wh"),
                                       reading("armoire", "energy", 10.0, "kWh")]))
    assert one({"entities": first}, "lum")["status"] == {"type": "Property", "value": "ok"}  # default: no observedAt
    assert one({"entities": first}, "armoire")["workingMode"] == {"type": "Property", "value": "manual"}
    encoder.entities(numbered([reading("lum", "alarm.lamp_failure.dali_single_0", True, ts=NOW + 1),
                               reading("armoire", "mode", 0, ts=NOW + 1)], first=3))
    later = encoder.entities(numbered([reading("lum", "energy.dali_single_0", 1300, "Wh", ts=NOW + 2),
                                       reading("armoire", "mode", 9, ts=NOW + 2)], first=5))
    lum, armoire = one({"entities": later}, "lum"), one({"entities": later}, "armoire")
    assert lum["status"]["value"] == "defectiveLamp" and lum["status"]["seq"]["value"] == 3  # restated, as observed
    assert armoire["workingMode"]["value"] == "automatic" and armoire["workingMode"]["seq"]["value"] == 4
    (odd,) = armoire["outOfModelReadings"]["value"]  # register value 9 has no working mode: kept whole
    assert odd == {"point": "mode", "seq": 6, "observedAt": "2026-11-18T11:06:42.000Z", "quality": "good", "value": 9}


def test_what_the_model_cannot_hold_is_kept_whole_beside_it() -> None:
    config = site([{"driver": "lorawan", "name": "bin", "dev_eui": "0000000000000002", "codec": "dingtek_df702"}])
    body = encode(config, numbered([
        reading("bin", "fill_level", 104.0, "%", quality=Quality.UNCERTAIN),
        reading("bin", "temperature", None, "°C", quality=Quality.BAD),
        reading("bin", "distance", 310, "mm", clock_synced=False),
        reading("bin", "alarm.fire", True),
    ]))
    (bin_,) = body["entities"]
    assert problems([bin_]) == []
    assert "fillingLevel" not in bin_ and "temperature" not in bin_
    assert [(r["point"], r.get("value"), r["quality"]) for r in bin_["outOfModelReadings"]["value"]] == [
        ("fill_level", 104.0, "uncertain"), ("temperature", None, "bad")]
    assert bin_["distance"]["clockSynced"]["value"] is False and bin_["distance"]["unitCode"] == "MMT"
    assert bin_["status"]["value"] == "burning"


def test_several_polls_in_one_batch_make_one_entity_and_a_temporal_history() -> None:
    config = site([{"driver": "modbus", "name": "compteur", "profile": "eastron_sdm120", "host": "127.0.0.1"}])
    polls = []
    for poll in range(3):
        ts = NOW + 5 * poll
        polls += [reading("compteur", "voltage", 230.0 + poll, "V", ts), reading("compteur", "current", 4.0, "A", ts),
                  reading("compteur", "import_active_energy", 1520.5 + poll, "kWh", ts + 0.004)]
    body = encode(config, numbered(polls))
    (meter,) = body["entities"]
    assert meter["type"] == "ACMeasurement" and problems([meter]) == []
    assert meter["phaseVoltage"]["value"] == {"L1": 232.0} and meter["phaseType"]["value"] == "singlePhase"
    assert meter["totalActiveEnergyImport"]["observedAt"] == "2026-11-18T11:06:50.004Z"  # its own time
    assert meter["phaseVoltage"]["observedAt"] == "2026-11-18T11:06:50.000Z"
    (history,) = body["temporal"]
    assert history["id"] == meter["id"] and history["@context"] == meter["@context"]
    assert [i["value"] for i in history["phaseVoltage"]] == [{"L1": 230.0}, {"L1": 231.0}]
    assert [i["seq"]["value"] for i in history["totalActiveEnergyImport"]] == [3, 6]
    assert carried_seqs(body) == set(range(1, 10))


def test_a_lighting_group_carries_its_program_and_level() -> None:
    config = load_config(ROOT / "configs" / "esternay.toml").config
    body = encode(config, numbered([reading("armoire-mairie", "circuit1_level", 50, "%"),
                                    reading("lum-grande-rue-02", "dimming_level.dali_broadcast", 100, "%")]))
    groups = {e["name"]["value"]: e for e in body["entities"] if e["type"] == "StreetlightGroup"}
    assert set(groups) == {"centre-bourg", "grande-rue", "eglise"}
    assert problems(groups.values()) == []
    centre, rue = groups["centre-bourg"], groups["grande-rue"]
    assert (centre["illuminanceLevel"]["value"], centre["powerState"]["value"]) == (0.5, "low")
    assert centre["activeProgramId"]["value"] in {"coupure-23h-5h", "abaissement-50", "nuit-entiere"}
    assert centre["refStreetlightControlCabinet"]["object"].endswith(":armoire-mairie")
    assert (rue["illuminanceLevel"]["value"], rue["powerState"]["value"]) == (1.0, "on")
    assert len(rue["refStreetlight"]["object"]) == 3
    cabinet = one(body, "armoire-mairie")
    assert set(cabinet["refStreetlightGroup"]["object"]) == {groups["centre-bourg"]["id"], groups["eglise"]["id"]}


def test_the_context_is_the_projects_then_the_models_then_the_core() -> None:
    devices = [{"driver": "lorawan", "name": "bin", "dev_eui": "0000000000000002", "codec": "dingtek_df702"}]
    default = encode(site(devices), numbered([reading("bin", "fill_level", 50.0, "%")]))["entities"][0]
    assert default["@context"] == [
        "https://edge-agent.example/contexts/edge-agent.jsonld",
        "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/context.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"]
    served = site(devices, upstream={"ngsi_ld": {"contexts_url": "http://hyperviseur.lan/ngsi-ld/contexts/"}})
    entity = encode(served, numbered([reading("bin", "fill_level", 50.0, "%")]))["entities"][0]
    assert entity["@context"][:2] == ["http://hyperviseur.lan/ngsi-ld/contexts/edge-agent.jsonld",
                                      "http://hyperviseur.lan/ngsi-ld/contexts/sdm/dataModel.WasteManagement.jsonld"]
    for name in ("edge-agent.jsonld", "sdm/dataModel.WasteManagement.jsonld"):
        assert (ROOT / "docs" / "contexts" / name).is_file(), "what the URL names ships in docs/contexts/"


def test_a_device_chirpstack_decodes_is_typed_by_the_points_its_config_names() -> None:
    config = site([{"driver": "lorawan", "name": "air", "dev_eui": "a84041000181c5e1", "codec": "chirpstack",
                    "object_fields": [{"path": "co2", "point": "co2", "unit": "ppm"},
                                      {"path": "humidity", "point": "humidity", "unit": "%"}]}])
    body = encode(config, numbered([reading("air", "co2", 420, "ppm"), reading("air", "humidity", 48.0, "%")]))
    (air,) = body["entities"]
    assert air["type"] == "AirQualityObserved" and problems([air]) == []
    assert (air["co2"]["unitCode"], air["relativeHumidity"]["value"]) == ("59", 0.48)
