"""The pure parts: request validation, the answer memory, the trial files, the FIWARE mapping and NGSI-LD."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from edge_agent.commands.errors import ErrorCode
from edge_agent.commands.memory import RecentAnswers
from edge_agent.commands.requests import Known, RequestRefused, parse_request
from edge_agent.commands.trial import ConfigTrial
from edge_agent.config.site import SiteConfig
from edge_agent.contract.inventory import inventory_fields
from edge_agent.contract.ngsi_ld import NgsiLdEncoder
from edge_agent.device_state import DeviceState
from edge_agent.reading import Quality, Reading
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.lanes import Lane
from edge_agent.sync.payloads import Batch

NOW = 1_795_000_000.0
KNOWN = Known(devices=frozenset({"bin-1"}), groups=frozenset({"rue"}))


def request(**fields: object) -> bytes:
    body = {"v": 1, "id": "r1", "command": "ping", "sent_at": "2026-11-18T11:06:40.000Z", **fields}
    return json.dumps(body).encode()


def parse(payload: bytes, *, synced: bool = True) -> object:
    return parse_request(payload, now=NOW, max_age=300, clock_synced=synced, known=KNOWN, replay_max=100)


def refusal(payload: bytes, *, synced: bool = True) -> tuple[str, str | None, str | None]:
    with pytest.raises(RequestRefused) as caught:
        parse(payload, synced=synced)
    return caught.value.code.value, caught.value.field, caught.value.request_id


def test_a_valid_override_is_parsed_with_typed_args() -> None:
    parsed = parse(request(command="override", args={"group": "rue", "level": 0, "duration_s": 60}))
    assert parsed.args == {"group": "rue", "level": 0, "duration_s": 60.0}  # type: ignore[attr-defined]


def test_refusals_carry_the_id_when_it_could_be_read() -> None:
    assert refusal(b"nope") == ("malformed", None, None)
    assert refusal(request(command="fly")) == ("unknown_command", "command", "r1")
    assert refusal(request(command="read_device", args={"device": "bin-2"})) == ("device_unknown", "args.device",
                                                                                 "r1")


def test_age_is_judged_only_on_a_synchronised_clock() -> None:
    old = request(sent_at="2026-11-18T10:40:00.000Z")  # 1,600 s before NOW
    assert refusal(old) == ("expired", "sent_at", "r1")
    assert parse(old, synced=False) is not None  # a clock not yet synchronised cannot judge age


def test_the_answer_memory_is_bounded() -> None:
    memory = RecentAnswers(3)
    for n in range(5):
        memory.remember(f"id{n}", b"%d" % n)
    assert len(memory) == 3 and memory.get("id0") is None and memory.get("id4") == b"4"


def test_a_trial_that_died_is_rolled_back_at_boot(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text("old")
    trial = ConfigTrial(config)
    trial.begin("push-1", b"new", hashlib.sha256(b"new").hexdigest(), hashlib.sha256(b"old").hexdigest(), 5.0)
    assert config.read_text() == "new" and trial.marker().state == "pending"  # type: ignore[union-attr]
    assert trial.on_boot().state == "trying"  # type: ignore[union-attr]  # the restarted process tries it
    assert config.read_text() == "new"
    rolled = trial.on_boot()  # it died (kill -9, crash): the next start finds it still "trying"
    assert rolled is not None and rolled.state == "rolled_back" and "stopped" in rolled.reason
    assert config.read_text() == "old"
    trial.finish()
    assert trial.marker() is None and trial.on_boot() is None


def test_a_trial_whose_new_file_a_power_cut_undid_is_forgotten_at_boot(tmp_path: Path) -> None:
    """The marker survived but the rename of the new file did not: the old file is in force, so the trial is
    forgotten (a repeat of the request runs it again) rather than confirmed for a config that is not there."""
    config = tmp_path / "site.toml"
    config.write_text("old")
    trial = ConfigTrial(config)
    trial.begin("push-1", b"new", hashlib.sha256(b"new").hexdigest(), hashlib.sha256(b"old").hexdigest(), 5.0)
    config.write_text("old")  # what the cut left
    assert trial.on_boot() is None
    assert trial.marker() is None and config.read_text() == "old"


SITE = SiteConfig.model_validate({
    "gateway_id": "gw", "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603},
    "devices": [{"driver": "lorawan", "name": "bin-1", "dev_eui": "0011223344556677", "codec": "dingtek_df702"}],
})


def test_ngsi_ld_converts_percent_to_ratio_only_at_the_edge() -> None:
    readings = [StoredRecord(7, Reading("bin-1", "fill_level", 85.0, NOW, "%"), False),
                StoredRecord(8, Reading("bin-1", "temperature", 21, NOW, "°C", clock_synced=False), False),
                StoredRecord(9, Reading("bin-1", "distance", 310, NOW, "mm", Quality.UNCERTAIN), False)]
    body = json.loads(NgsiLdEncoder(SITE)(Batch(Lane.LIVE, [7, 8, 9], b"", []), readings))
    (entity,) = body["entities"]
    assert entity["id"] == "urn:ngsi-ld:WasteContainer:gw:bin-1" and entity["type"] == "WasteContainer"
    assert entity["location"]["value"] == {"type": "Point", "coordinates": [3.5603, 48.7328]}
    assert entity["fillingLevel"]["value"] == 0.85 and entity["fillingLevel"]["unitCode"] == "C62"
    assert entity["fillingLevel"]["observedAt"] == "2026-11-18T11:06:40.000Z"
    assert entity["temperature"]["unitCode"] == "CEL" and entity["temperature"]["clockSynced"]["value"] is False
    assert entity["distance"]["quality"]["value"] == "uncertain"
    assert readings[0].record.value == 85.0  # type: ignore[union-attr]  # 0-100 inside the agent
    assert body["seqs"] == [7, 9]


def test_inventory_names_each_device_fiware_type() -> None:
    fields = inventory_fields(SITE, {"bin-1": DeviceState(online=False, last_seen=1.0)})
    assert fields["devices"] == [{"name": "bin-1", "driver": "lorawan", "model": "dingtek_df702",
                                  "fiware_type": "WasteContainer", "fiware_id": "urn:ngsi-ld:WasteContainer:gw:bin-1",
                                  "online": False}]
    assert ErrorCode.EXPIRED.value == "expired"


def test_the_topic_template_stays_under_the_gateway_subtree() -> None:
    from pydantic import ValidationError

    from edge_agent.config.upstream import TopicsConfig
    from edge_agent.sync.topics import Topics

    topics = Topics("fute", "gw", TopicsConfig(readings="data/mesures", commands="cmd"))
    assert (topics.readings, topics.commands, topics.replay) == (
        "fute/gw/data/mesures", "fute/gw/cmd", "fute/gw/replay")
    for bad in ("#", "a/+/b", "/abs", "x/", "a//b", "../up"):
        with pytest.raises(ValidationError):
            TopicsConfig(readings=bad)
    with pytest.raises(ValidationError):
        TopicsConfig(readings="same", events="same")
