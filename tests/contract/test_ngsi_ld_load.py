"""A real demo run in NGSI-LD output, loaded into a context broker as docs/contract.md says, keeps every reading.

The bundled demo site runs for real (``edge-agent demo``: the agent, its simulated Modbus devices, its ChirpStack
stand-in on the gateway's own Mosquitto) with ``upstream.output = "ngsi-ld"``; the hypervisor's Mosquitto is
down until the store holds several polls and uplinks of each device, so the batch that follows carries them.
What the real broker delivers is loaded into a model of a context broker's storage: no Orion-LD, Scorpio or
Stellio can run here, so the model follows Orion-LD's documented behaviour (sources cited on the class). Every
reading the gateway's store holds for the batches must be found with its value; loading the same batches as the
old contract said (the entities alone, default upsert) must lose some, or the model would prove nothing.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edge_agent import resources
from edge_agent.reading import Reading
from edge_agent.store.rows import SELECT_COLUMNS, from_row
from tests.contract.sdm_models import check_entity, official_schema_errors
from tests.contract.support import Schemas
from tests.support.agent_proc import store_rows, wait_until
from tests.support.broker import Broker
from tests.support.mqtt import Capture
from tests.support.ports import free_port, wait_port

GATEWAY = "demo-esternay"
UPSTREAM_HOST = "127.0.0.2"  # loopback, but not where the demo starts a broker of its own
# How the mapping may have scaled a reading, by the unit it was read in and the unitCode it was sent with.
SCALES = {("%", "C62"): 0.01, ("mA", "AMP"): 0.001, ("W", "KWT"): 0.001, ("Wh", "KWH"): 0.001}
MODES = {0: "automatic", 1: "semiautomatic", 2: "manual"}  # the cabinet profile's mode register, as documented


class ContextBrokerModel:
    """What a context broker keeps of the NGSI-LD requests the contract tells the hypervisor to send.

    Written from Orion-LD's documentation and source (FIWARE/context.Orion-LD, doc/manuals-ld and
    src/lib/orionld/serviceRoutines, 2024-10 master):
    - ``POST /ngsi-ld/v1/entityOperations/upsert`` (orionldPostBatchUpsert.cpp): "By default, already existing
      entities are OVERWRITTEN"; with ``?options=update`` an existing entity is updated "according to Append
      Attributes" (each attribute of the payload replaces the one of that name, the others stay). Several entities
      of one id in one request are applied one after the other (its "multiple instances" handling): with the
      default, the last one wins (test/functionalTest/cases/0000_ngsild/ngsild_batch_upsert-options=replace.test).
    - TRoE (doc/manuals-ld/troe.md): Orion-LD itself stores every created or modified attribute in the temporal
      database, from which Mintaka serves the temporal API.
    - ``POST /ngsi-ld/v1/temporal/entities`` (orionldPostTemporalEntities.cpp): "adds entries in the TRoE database"
      for every instance of every attribute of the temporal representation; the current state is untouched.
    """

    def __init__(self) -> None:
        self.current: dict[str, dict[str, Any]] = {}
        self.temporal: list[tuple[str, str, dict[str, Any]]] = []

    def upsert(self, entities: Iterable[dict[str, Any]], *, options: str = "replace") -> None:
        for entity in entities:
            attributes = {k: v for k, v in entity.items() if k not in ("id", "type", "@context")}
            if options == "update" and entity["id"] in self.current:
                self.current[entity["id"]].update(attributes)
            else:
                self.current[entity["id"]] = dict(attributes)
            self.temporal += [(entity["id"], name, attribute) for name, attribute in attributes.items()]

    def post_temporal(self, entity: dict[str, Any]) -> None:
        for name, instances in entity.items():
            if name not in ("id", "type", "@context"):
                self.temporal += [(entity["id"], name, instance) for instance in instances]


def seqs_of(attribute: dict[str, Any]) -> list[int]:
    seq = attribute.get("seq", {}).get("value") if isinstance(attribute, dict) else None
    return seq if isinstance(seq, list) else [seq] if isinstance(seq, int) else []


def close(sent: Any, read: Any, unit: str | None, unit_code: str | None) -> bool:
    if isinstance(read, bool) or not isinstance(read, int | float):
        return bool(sent == read)
    if isinstance(sent, bool) or not isinstance(sent, int | float):
        return False
    wanted = read * SCALES.get((unit or "", unit_code or ""), 1.0)
    return abs(sent - wanted) <= 1e-6 * max(1.0, abs(wanted))


def holds(name: str, attribute: dict[str, Any], seq: int, reading: Reading) -> bool:
    """Whether this attribute instance carries this reading, with its value (scaled as its unitCode says)."""
    value = attribute.get("value")
    if name == "outOfModelReadings":
        return any(item["seq"] == seq and item.get("value") == reading.value for item in value)
    if seq not in seqs_of(attribute):
        return False
    if name == "workingMode":
        return MODES.get(reading.value) == value  # type: ignore[call-overload]
    unit_code = attribute.get("unitCode")
    if isinstance(value, dict):
        return any(close(v, reading.value, reading.unit, unit_code) for v in value.values())
    return close(value, reading.value, reading.unit, unit_code)


def lost_readings(model: ContextBrokerModel, readings: dict[int, Reading]) -> list[tuple[int, Reading]]:
    found: set[int] = set()
    by_seq: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for _, name, attribute in model.temporal:
        if name == "outOfModelReadings":
            for item in attribute["value"]:
                by_seq.setdefault(item["seq"], []).append((name, attribute))
        for seq in seqs_of(attribute):
            by_seq.setdefault(seq, []).append((name, attribute))
    for seq, reading in readings.items():
        if any(holds(name, attribute, seq, reading) for name, attribute in by_seq.get(seq, [])):
            found.add(seq)
    return [(seq, reading) for seq, reading in sorted(readings.items()) if seq not in found]


def outage_demo(directory: Path, upstream_port: int, local_port: int) -> Path:
    """The bundled demo site, NGSI-LD output, its hypervisor broker on another loopback address; polls and
    uplinks every second or two so a short run holds several of each."""
    text = resources.bundled_config("demo").read_text()
    edits = [
        ('[upstream]\nhost = "127.0.0.1"\nport = 1883\n',
         f'[upstream]\nhost = "{UPSTREAM_HOST}"\nport = {upstream_port}\noutput = "ngsi-ld"\n'),
        ("[upstream.sync]\n", "[upstream.sync]\nreconnect_min = 0.2\nreconnect_max = 1.0\n"),
        ('[chirpstack]\nhost = "127.0.0.1"\nport = 1883\n', f'[chirpstack]\nhost = "127.0.0.1"\nport = {local_port}\n'),
    ]
    for old, new in edits:
        assert old in text, f"the demo site changed: {old!r}"
        text = text.replace(old, new)
    text = re.sub(r"(?m)^port = 15502$", f"port = {free_port()}", text)
    text = re.sub(r"(?m)^poll_interval = \d+$", "poll_interval = 1", text)
    text = re.sub(r"(?m)^uplink_interval = \d+$", "uplink_interval = 2", text)
    path = directory / "demo.toml"
    path.write_text(text)
    return path


def count(db: Path, where: str) -> int:
    """Readings in the gateway's store (read as the CLI does, beside the running agent)."""
    return int(store_rows(db, f"SELECT count(*) FROM records WHERE kind = 0 AND {where}")[0][0])  # type: ignore[arg-type]


def stored_readings(db: Path, ranges: Iterable[tuple[int, int]]) -> dict[int, Reading]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out: dict[int, Reading] = {}
        for first, last in ranges:
            for row in conn.execute(f"SELECT {SELECT_COLUMNS} FROM records WHERE seq BETWEEN ? AND ?", (first, last)):
                stored = from_row(row)
                if isinstance(stored.record, Reading):
                    out[stored.seq] = stored.record
        return out
    finally:
        conn.close()


def test_a_real_demo_run_loaded_as_the_contract_says_keeps_every_reading(tmp_path: Path) -> None:
    local = Broker(tmp_path).start()  # the gateway's own Mosquitto, where ChirpStack publishes
    upstream_port = free_port()  # the hypervisor's, for the agent; its first listener is the subscriber's
    upstream = Broker(tmp_path, extra=f"listener {upstream_port} {UPSTREAM_HOST}")
    state = tmp_path / "state"
    demo = subprocess.Popen(
        [sys.executable, "-m", "edge_agent", "demo", "--config", str(outage_demo(tmp_path, upstream_port, local.port)),
         "--duration", "90", "--state-dir", str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = state / "store.db"
    capture: Capture | None = None
    try:
        # The hypervisor's broker is down: polls and uplinks pile up in the store, several of each device.
        lamp = "device = 'lamp-rue-haute-07' AND point = 'lorawan.f_cnt'"
        wait_until(lambda: count(db, "point = 'circuit1_level'") >= 3 and count(db, lamp) >= 2,
                   timeout=60, what="three polls of the cabinet and two uplinks of the luminaire stored")
        os.kill(demo.pid, signal.SIGSTOP)  # held while the hypervisor's broker and its subscriber come up
        stored = count(db, "1")
        upstream.start()
        wait_port(upstream_port, host=UPSTREAM_HOST)
        capture = Capture(upstream.port, f"fute/{GATEWAY}/readings")
        os.kill(demo.pid, signal.SIGCONT)
        # the backlog drained, and live batches after it
        capture.wait_for(lambda ms: len(ms) >= 6 and max(m.json()["seqs"][-1] for m in ms) > stored, timeout=60)
        demo.send_signal(signal.SIGTERM)
        out, err = demo.communicate(timeout=60)
        assert demo.returncode == 0, err.decode()[-2000:]
        time.sleep(0.5)
        batches = [m.json() for m in capture.snapshot()]
    finally:
        if demo.poll() is None:
            os.kill(demo.pid, signal.SIGCONT)
            demo.kill()
        if capture is not None:
            capture.close()
        upstream.stop()
        local.stop()
    assert len(batches) >= 3, out.decode()[-2000:]

    schemas = Schemas()
    for batch in batches:
        schemas.check("ngsiLdBatch", batch)
        for entity in batch["entities"]:
            assert check_entity(entity) + official_schema_errors(entity) == []
        ids = [entity["id"] for entity in batch["entities"]]
        assert len(ids) == len(set(ids)), "one entity per device per batch"
    emitted = {entity["type"] for batch in batches for entity in batch["entities"]}
    assert emitted == {"StreetlightControlCabinet", "StreetlightGroup", "ACMeasurement", "CrowdFlowObserved",
                       "WasteContainer", "Streetlight"}
    assert any(batch.get("temporal") for batch in batches), "some batch carried several readings of one point"

    readings = stored_readings(state / "store.db", [tuple(batch["seqs"]) for batch in batches])
    assert len(readings) > 200

    loaded = ContextBrokerModel()  # as docs/contract.md says: the temporal part, then the entities as an update
    for batch in batches:
        for entity in batch.get("temporal", []):
            loaded.post_temporal(entity)
        loaded.upsert(batch["entities"], options="update")
    assert lost_readings(loaded, readings) == []
    for entity_id, attributes in loaded.current.items():  # the current state holds each point's newest reading
        for name, attribute in attributes.items():
            newest = max((s for e, n, a in loaded.temporal if e == entity_id and n == name for s in seqs_of(a)),
                         default=None)
            assert newest is None or newest in seqs_of(attribute), f"{entity_id} {name} is not its newest reading"

    as_before = ContextBrokerModel()  # the entities alone, default upsert: what the contract used to say
    for batch in batches:
        as_before.upsert(batch["entities"])
    assert lost_readings(as_before, readings), "loading without the temporal part must lose readings"
