"""Every message type, captured from a real broker, validates against the JSON Schemas of docs/asyncapi.yaml."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from jsonschema.exceptions import ValidationError

from tests.contract.support import GATEWAY, PREFIX, Hypervisor, Pki, Schemas, iso, tls_site
from tests.support.agent_proc import AgentProcess
from tests.support.broker import Broker

ROOT = f"{PREFIX}/{GATEWAY}"


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas()


def by_topic(hypervisor: Hypervisor, suffix: str) -> list[dict[str, object]]:
    return [m.json() for m in hypervisor.snapshot() if m.topic == f"{ROOT}/{suffix}"]


def test_native_messages_validate(tmp_path: Path, secure_broker: Broker, pki: Pki, schemas: Schemas) -> None:
    hypervisor = Hypervisor(secure_broker.port, pki)
    agent = AgentProcess(tls_site(tmp_path, secure_broker, pki)).start()
    try:
        hypervisor.wait_for(lambda ms: by_topic(hypervisor, "readings") and by_topic(hypervisor, "events")
                            and by_topic(hypervisor, "inventory") and by_topic(hypervisor, "status"))
        replay = hypervisor.ask("replay", {"first": 1, "last": 20})
        hypervisor.wait_for(lambda ms: by_topic(hypervisor, "replay"))
        hypervisor.ask("nonsense")
        agent.terminate()  # the clean "stopped" status
        agent.start()
        hypervisor.wait_for(lambda ms: len([s for s in by_topic(hypervisor, "status") if s["online"]]) >= 2)
        agent.kill()  # the Last Will, published by the broker
        hypervisor.wait_for(lambda ms: [s for s in by_topic(hypervisor, "status") if s.get("reason") ==
                                        "connection lost"])
    finally:
        if agent.proc is not None:
            agent.kill()
        hypervisor.close()
    assert replay["ok"] is True
    checked = {"readingsBatch": by_topic(hypervisor, "readings"), "eventsBatch": by_topic(hypervisor, "events"),
               "status": by_topic(hypervisor, "status"), "inventory": by_topic(hypervisor, "inventory"),
               "commandResponse": by_topic(hypervisor, "responses"), "replay": by_topic(hypervisor, "replay"),
               "commandRequest": [r for r in by_topic(hypervisor, "commands") if r["command"] != "nonsense"]}
    for name, payloads in checked.items():
        assert payloads, f"no {name} captured"
        for payload in payloads:
            schemas.check(name, payload)
    reasons = {s.get("reason") for s in checked["status"]}
    assert {"stopped", "connection lost"} <= reasons
    inventory = checked["inventory"][0]
    assert inventory["location"] == {"type": "Point", "coordinates": [3.5603, 48.7328]}  # type: ignore[index]
    assert [d["name"] for d in inventory["devices"]] == ["sim-0", "sim-1"]  # type: ignore[index]
    late = Hypervisor(secure_broker.port, pki)  # a hypervisor that connects later gets the retained state
    try:
        late.wait_for(lambda ms: {m.topic.rsplit("/", 1)[-1] for m in ms if m.retain} >= {"status", "inventory"})
    finally:
        late.close()


def test_the_request_schema_refuses_what_the_agent_refuses(schemas: Schemas) -> None:
    now = iso(time.time())
    good = {"v": 1, "id": "a1", "command": "override", "sent_at": now,
            "args": {"group": "rue", "level": 40, "duration_s": 600}}
    schemas.check("commandRequest", good)
    for bad_args in ({"group": "rue", "level": 101, "duration_s": 600}, {"group": "rue", "level": "40",
                                                                         "duration_s": 600}, {"group": "rue"}):
        with pytest.raises(AssertionError):
            schemas.check("commandRequest", {**good, "args": bad_args})
    with pytest.raises(AssertionError):
        schemas.check("commandRequest", {**good, "command": "reboot"})
    with pytest.raises((AssertionError, ValidationError)):
        schemas.check("commandRequest", {**good, "sent_at": "2026-11-28 10:00"})


def test_ngsi_ld_output_validates(tmp_path: Path, secure_broker: Broker, pki: Pki, schemas: Schemas) -> None:
    hypervisor = Hypervisor(secure_broker.port, pki)
    config = tls_site(tmp_path, secure_broker, pki, upstream='output = "ngsi-ld"')
    agent = AgentProcess(config).start()
    try:
        hypervisor.wait_for(lambda ms: len(by_topic(hypervisor, "readings")) >= 3)
    finally:
        agent.terminate()
        hypervisor.close()
    batches = by_topic(hypervisor, "readings")
    for batch in batches:
        schemas.check("ngsiLdBatch", batch)
    entity = batches[0]["entities"][0]  # type: ignore[index]
    assert entity["id"] == "urn:ngsi-ld:Device:gw-test:sim-0" and entity["type"] == "Device"
    assert entity["location"]["value"]["coordinates"] == [3.5603, 48.7328]
    assert entity["p0"]["observedAt"].endswith("Z")
    assert entity["@context"][-1] == "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"  # core last
    for event_batch in by_topic(hypervisor, "events"):
        schemas.check("eventsBatch", event_batch)  # events stay native
    assert json.dumps(batches).count('"seq"') > 0
