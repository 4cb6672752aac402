"""End to end, as an installer does it: drivers added in a site driver directory, checked, then used by the running
agent; and devices ChirpStack already decodes, their ``object`` mapped to points (JSON and protobuf events).

Real parts: the agent as its own process, a real Mosquitto (the upstream broker and ChirpStack's integration
broker at once), a real pymodbus TCP server serving the site profile's registers, the real SQLite store.
ChirpStack itself cannot run here: its events are published as its MQTT integration publishes them.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.modbus.profile import read_profile
from edge_agent.modbus.simulator import SimUnit, start_tcp
from tests.cli.helpers import cli
from tests.lorawan.support import Publisher, encode, event_topic, uplink_event
from tests.support.agent_proc import AgentProcess, store_rows, wait_until
from tests.support.broker import Broker
from tests.support.ports import free_port, wait_port
from tests.support.site import write_site

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "site-drivers"
TH_EUI, AIR_EUI, BROKEN_EUI = "24e124136b502218", "a84041000181c5e1", "a84041000181c5e2"
AIR_FIELDS = """
[[devices.object_fields]]
path = "co2"
point = "co2"
unit = "ppm"
valid_max = 10000
[[devices.object_fields]]
path = "sensors.0.temperature"
point = "temperature"
unit = "°C"
[[devices.object_fields]]
path = "battery"
point = "battery"
unit = "%"
battery = true
[[devices.object_fields]]
path = "alarms.tamper"
alarm = "tamper"
"""


@pytest.fixture
def modbus_server() -> Iterator[int]:
    """A pymodbus TCP server, in its own thread, serving the site profile's simulated registers."""
    port = free_port()
    unit = SimUnit(read_profile(EXAMPLES / "modbus" / "eastron_sdm630.toml"))
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def serve() -> None:
        server = await start_tcp({1: unit}, port)
        ready.set()
        while not stopping.is_set():
            await asyncio.sleep(0.1)
        await server.shutdown()

    stopping = threading.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    wait_port(port)
    yield port
    stopping.set()
    thread.join(10)


def _send_until(publisher: Publisher, topic: str, payload: bytes, done: object, what: str) -> None:
    """Publish until the agent has it: before its subscription is in place a message would find no session. The
    same event sent again carries the same deduplication id: the agent keeps it once."""
    assert callable(done)
    for _ in range(60):
        publisher.send(topic, payload)
        try:
            wait_until(done, timeout=0.5, what=what)
            return
        except AssertionError:
            continue
    raise AssertionError(f"{what}: not stored")


def _readings(db: Path, device: str) -> dict[str, object]:
    return dict(store_rows(db, "SELECT point, value FROM records WHERE kind = 0 AND device = ? ORDER BY seq",
                           (device,)))


def _events(db: Path, device: str) -> list[tuple[str, str]]:
    return [(str(kind), str(body)) for kind, body in store_rows(
        db, "SELECT point, body FROM records WHERE kind = 1 AND device = ? ORDER BY seq", (device,))]


def test_an_installer_adds_a_profile_and_a_declarative_codec_and_the_agent_uses_them(
        tmp_path: Path, modbus_server: int) -> None:
    drivers = tmp_path / "drivers"
    shutil.copytree(EXAMPLES, drivers)
    checked = cli(None, "drivers", "check", str(drivers))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": ok: ") == 2
    (drivers / "lorawan" / "acme_broken.codec.yaml").write_text("table_codec: 1\nmodel: Acme\nuplink_fports: [2]\n")
    broker = Broker(tmp_path).start()
    devices = f"""
[[devices]]
driver = "modbus"
name = "meter-mairie"
profile = "eastron_sdm630"
host = "127.0.0.1"
port = {modbus_server}
unit = 1
poll_interval = 0.3

[[devices]]
driver = "lorawan"
name = "th-ecole"
dev_eui = "{TH_EUI}"
codec = "milesight_em300_th"

[[devices]]
driver = "lorawan"
name = "capteur-casse"
dev_eui = "{BROKEN_EUI}"
codec = "acme_broken"

[[devices]]
driver = "lorawan"
name = "air-ecole"
dev_eui = "{AIR_EUI}"
codec = "chirpstack"
{AIR_FIELDS}
"""
    config = write_site(tmp_path, broker_port=broker.port, devices=devices,
                        extra=f'[drivers]\npaths = ["{drivers}"]\n\n[chirpstack]\nport = {broker.port}\n')
    assert cli(None, "config", "check", str(config)).returncode == 0
    agent = AgentProcess(config).start()
    publisher = Publisher(broker.port)
    db = tmp_path / "store.db"
    try:
        wait_until(lambda: _readings(db, "meter-mairie").get("voltage_l1") == 231.0, timeout=30,
                   what="the site profile's Modbus readings")
        assert _readings(db, "meter-mairie")["total_active_energy"] == 1234.5
        wait_until(lambda: any(kind == "device_unusable" for kind, _ in _events(db, "capteur-casse")),
                   what="the broken site codec reported")
        th = uplink_event(TH_EUI, "01755c03673401046865", f_cnt=1, f_port=85)
        _send_until(publisher, event_topic(TH_EUI, "up"), json.dumps(th).encode(),
                    lambda: "humidity" in _readings(db, "th-ecole"), "the site codec's points")
        air = uplink_event(AIR_EUI, "0102", f_cnt=1, f_port=2)
        air["object"] = {"co2": 612, "sensors": [{"temperature": 19.5}], "battery": 88, "alarms": {"tamper": True}}
        publisher.send(event_topic(AIR_EUI, "up"), json.dumps(air).encode())
        broken = uplink_event(BROKEN_EUI, "0102", f_cnt=1, f_port=2)
        publisher.send(event_topic(BROKEN_EUI, "up"), json.dumps(broken).encode())
        assert {k: v for k, v in _readings(db, "th-ecole").items() if not k.startswith("lorawan.")} == {
            "battery": 92, "temperature": 30.8, "humidity": 50.5}
        wait_until(lambda: "co2" in _readings(db, "air-ecole"), what="the ChirpStack object's points")
        air_points = _readings(db, "air-ecole")
        assert (air_points["co2"], air_points["temperature"], air_points["battery"]) == (612, 19.5, 88)
        assert air_points["alarm.tamper"] == 1
        assert tuple(kind for kind, _ in _events(db, "air-ecole")) == ("device_alarm", )
        wait_until(lambda: any(kind == "uplink_undecodable" for kind, _ in _events(db, "capteur-casse")),
                   what="the broken device's uplink kept raw")
        assert _readings(db, "capteur-casse")["lorawan.payload"] == "0102"
        assert agent.returncode is None  # the broken file stopped nothing
    finally:
        publisher.close()
        agent.terminate()
        broker.stop()


def test_a_chirpstack_decoded_device_in_protobuf(tmp_path: Path) -> None:
    broker = Broker(tmp_path).start()
    devices = f"""
[[devices]]
driver = "lorawan"
name = "air-ecole"
dev_eui = "{AIR_EUI}"
codec = "chirpstack"
{AIR_FIELDS}
"""
    config = write_site(tmp_path, broker_port=broker.port, devices=devices,
                        extra=f'[chirpstack]\nport = {broker.port}\nencoding = "protobuf"\n')
    agent = AgentProcess(config).start()
    publisher = Publisher(broker.port)
    db = tmp_path / "store.db"
    try:
        air = uplink_event(AIR_EUI, "0102", f_cnt=5, f_port=2)
        air["object"] = {"co2": 1450, "battery": 71.5, "alarms": {"tamper": False}}  # no sensors: one field missing
        _send_until(publisher, event_topic(AIR_EUI, "up"), encode(air, "up", "protobuf"),
                    lambda: "co2" in _readings(db, "air-ecole"), "the protobuf object's points")
        points = _readings(db, "air-ecole")
        assert (points["co2"], points["battery"], points["alarm.tamper"]) == (1450, 71.5, 0)
        assert "temperature" not in points and points["lorawan.f_cnt"] == 5
    finally:
        publisher.close()
        agent.terminate()
        broker.stop()
