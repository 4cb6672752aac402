"""Poison from outside, against the real agent between a real ChirpStack broker and a real hypervisor broker.

A message that cannot be read, text that cannot be encoded, a time of year 9999 or 2**62 seconds: each must cost
that one message (kept as an event that says why), never the delivery of everything behind it, never a tick of
the lights. A row already poisoned in the store is set aside, counted and announced, however it got there.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from chirpstack_api import integration
from google.protobuf import json_format

from edge_agent.demo.chirpstack_sim import sample_frames
from tests.faults.rig import UNSENT, TimedCapture, prepare_lorawan_session, store_seqs
from tests.lorawan.support import APP, Publisher, event_topic, uplink_event
from tests.support.agent_proc import AgentProcess, store_rows, wait_until
from tests.support.broker import Broker
from tests.support.site import simulated_devices, write_site

BIN = "24e124713b231001"
LAMP = "70b3d5e75e00c0a7"
STRANGER = "a84041ffff000001"  # heard by ChirpStack, not in the site config
CLIENT = "agent-poison"
DEVICES = f"""
[[devices]]
driver = "lorawan"
name = "bin-eglise"
dev_eui = "{BIN}"
codec = "milesight_em310_udl"
bin = {{ d_empty_mm = 1500, d_full_mm = 250 }}

[[devices]]
driver = "lorawan"
name = "lamp-1"
dev_eui = "{LAMP}"
codec = "nas_ul20xx"
application_id = "{APP}"

{simulated_devices(1, poll=0.2, points=1)}
"""
LIGHTING = """
[lighting]
tick_s = 1

[[lighting.programs]]
name = "night"
periods = [{ start = "sunset", end = "sunrise", level = 100 }]

[[lighting.calendars]]
name = "cal"
rules = [{ program = "night" }]

[[lighting.groups]]
name = "rue"
calendar = "cal"
members = [{ device = "lamp-1" }]
"""


@dataclass
class Gateway:
    upstream: Broker
    chirpstack: Broker
    capture: TimedCapture
    publisher: Publisher
    agent: AgentProcess
    encoding: str

    def records(self) -> list[dict[str, Any]]:
        return [record for _, record in self.capture.records()]

    def uplink(self, f_cnt: int, **fields: Any) -> None:
        """A real frame of the bin, as ChirpStack publishes it, with some fields replaced."""
        f_port, frame = sample_frames("milesight_em310_udl")[0]
        event = {**uplink_event(BIN, frame.hex(), f_cnt=f_cnt, f_port=f_port), **fields}
        self.send(event_topic(BIN, "up"), _encoded(event, self.encoding))

    def send(self, topic: str, payload: bytes) -> None:
        self.publisher.send(topic, payload)

    def delivered(self, device: str, point: str, value: object) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("device") == device and r.get("point") == point
                and r.get("value") == value]


def _encoded(event: dict[str, Any], encoding: str) -> bytes:
    if encoding == "json":
        return json.dumps(event).encode()
    time_field = event.pop("time", None)
    message = json_format.ParseDict(event, integration.UplinkEvent(), ignore_unknown_fields=True)
    if isinstance(time_field, int):  # seconds beyond what JSON's time format can say
        message.time.seconds = time_field
    return bytes(message.SerializeToString())


@contextlib.contextmanager
def gateway(directory: Path, encoding: str, extra: str = "") -> Iterator[Gateway]:
    (directory / "up").mkdir()
    (directory / "cs").mkdir()
    with contextlib.ExitStack() as stack:
        upstream = Broker(directory / "up").start()
        stack.callback(upstream.stop)
        chirpstack = Broker(directory / "cs").start()
        stack.callback(chirpstack.stop)
        capture = TimedCapture(upstream.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
        stack.callback(capture.close)
        prepare_lorawan_session(chirpstack.port, CLIENT)  # uplinks published now wait for the agent
        section = (f'[chirpstack]\nhost = "127.0.0.1"\nport = {chirpstack.port}\nclient_id = "{CLIENT}"\n'
                   f'encoding = "{encoding}"\n')
        config = write_site(directory, broker_port=upstream.port, devices=DEVICES, extra=section + extra)
        publisher = Publisher(chirpstack.port)
        stack.callback(publisher.close)
        agent = AgentProcess(config).start()
        stack.callback(lambda: agent.terminate() if agent.proc is not None else None)
        yield Gateway(upstream, chirpstack, capture, publisher, agent, encoding)


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_a_poison_chirpstack_message_costs_one_event_never_the_delivery(tmp_path: Path, encoding: str) -> None:
    """JSON: lone surrogates (the message of the hostile test, one in a field a parser quotes in its error, one in
    the device name of an unknown device, which ends up in an event). Protobuf: the 19-byte uplink dated 2**62 s.
    Each once stopped every lane for good; now each costs one event (its text made safe), a full uplink dated 2**62 s
    or year 9999 is stamped with the receive time, and everything behind them is delivered."""
    with gateway(tmp_path, encoding) as gw:
        if encoding == "json":
            gw.send(event_topic(BIN, "up"), b'{"rxInfo":"\\ud800"}')
            gw.uplink(100, rxInfo="\ud800")
            stranger = uplink_event(STRANGER, "01", f_cnt=1, f_port=1)
            stranger["deviceInfo"]["deviceName"] = "lampe \udc80"
            gw.send(event_topic(STRANGER, "up"), json.dumps(stranger).encode())
            gw.uplink(1, time="9999-12-31T23:59:59Z")
        else:
            gw.send(event_topic(BIN, "up"), bytes.fromhex("120a0880808080808080804038014001520101"))
            gw.uplink(1, time=2**62)
        gw.uplink(2)
        started = time.time()
        wait_until(lambda: gw.delivered("bin-eglise", "lorawan.f_cnt", 2), timeout=30,
                   what="the uplink behind the poison delivered")
        behind = gw.delivered("bin-eglise", "lorawan.f_cnt", 2)[0]["seq"]
        wait_until(lambda: any(r.get("device") == "sim-0" and r["seq"] > behind for r in gw.records()),
                   timeout=20, what="readings after the poison still flowing")
        records = gw.records()
        malformed = [r["data"]["reason"] for r in records if r.get("event") == "uplink_malformed"]
        assert any("deviceInfo" in reason for reason in malformed), malformed
        if encoding == "json":
            assert len(malformed) == 2 and any("\ufffd" in reason for reason in malformed), malformed
            (unknown,) = [r for r in records if r.get("event") == "uplink_unknown_device"]
            assert unknown["data"]["device_name"] == "lampe \ufffd"
        (first,) = gw.delivered("bin-eglise", "lorawan.f_cnt", 1)
        assert abs(_ts(first["ts"]) - started) < 60, f"the poison's time reached the hypervisor: {first['ts']}"
        (replaced,) = [r for r in records if r.get("event") == "uplink_time_replaced"]
        assert replaced["device"] == "bin-eglise" and replaced["data"]["f_cnt"] == 1
        assert all(2000 <= int(r["ts"][:4]) < 2100 for r in records), "a record stamped outside 2000-2100"
        assert gw.agent.returncode is None


def test_device_times_of_year_9999_never_stop_the_lights(tmp_path: Path) -> None:
    """Uplinks dated year 9999 and year 1 once made the darkness check raise and abort the lighting tick before
    any level was written: a hypervisor override answered 'ok' was not applied minutes later. Now the times are
    replaced at the door and one reading the rules cannot judge never aborts a tick."""
    with gateway(tmp_path, "json", extra=LIGHTING) as gw:
        gw.capture.wait_for(lambda ms: any(m.topic.endswith("/status") and m.json().get("online") for m in ms))
        for f_cnt in range(1, 41):
            gw.uplink(f_cnt, time="9999-12-31T23:59:59Z" if f_cnt % 4 else "0001-01-01T00:00:00Z")
        wait_until(lambda: gw.delivered("bin-eglise", "lorawan.f_cnt", 40), timeout=30, what="the 40 uplinks")
        request = {"v": 1, "id": f"ovr-{uuid.uuid4().hex[:8]}", "command": "override",
                   "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "args": {"group": "rue", "level": 37, "duration_s": 600}}
        hypervisor = Publisher(gw.upstream.port)
        hypervisor.send("fute/gw-test/commands", json.dumps(request).encode())
        hypervisor.close()
        answer = gw.capture.wait_for(lambda ms: [m.json() for m in ms if m.topic.endswith("/responses")])[0]
        assert answer["ok"] is True, answer
        wait_until(lambda: [r for r in gw.records() if r.get("event") == "lighting.set_level"
                            and r["data"]["level"] == 37 and r["data"]["ok"]], timeout=15,
                   what="the override applied to the lamp")
        replaced = [r for r in gw.records() if r.get("event") == "uplink_time_replaced"]
        assert len(replaced) == 40
        assert gw.agent.returncode is None


def test_a_poisoned_row_is_set_aside_counted_and_announced_across_a_restart(tmp_path: Path, broker: Broker) -> None:
    """Rows that reached the store before the text or time checks existed (an event with a lone surrogate, a
    reading dated 2**62 s) decode but cannot be sent: each is set aside and counted, a record_set_aside event says
    so, and every row behind them is delivered."""
    (tmp_path / "nowhere").mkdir()
    down = Broker(tmp_path / "nowhere")  # never started: a port nothing listens on
    config = write_site(tmp_path, broker_port=down.port)
    db = tmp_path / "store.db"
    agent = AgentProcess(config).start()
    try:
        wait_until(lambda: len(store_seqs(db, "kind=0")) > 100, what="readings in the outbox")
        agent.terminate()
        conn = sqlite3.connect(db)
        with conn:
            event = conn.execute("INSERT INTO records(kind, priority, ts, point, body) VALUES (1, 2, ?, "
                                 "'uplink_malformed', ?)", (time.time(), '{"message":"bad \\ud800","data":{}}'))
            reading = conn.execute("INSERT INTO records(kind, priority, ts, device, point, value) VALUES "
                                   "(0, 0, ?, 'sim-0', 'p0', 1.0)", (float(2**62),))
        conn.close()
        poisoned = {int(event.lastrowid or 0), int(reading.lastrowid or 0)}
        config.write_text(config.read_text().replace(f"port = {down.port}", f"port = {broker.port}"))
        capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
        agent = AgentProcess(config).start()
        try:
            wait_until(lambda: store_seqs(db, UNSENT) <= {int(r["seq"]) for _, r in capture.records()}
                       and max(store_seqs(db)) > max(poisoned) + 100, timeout=30, what="delivery behind the poison")
            agent.terminate()
            delivered = {int(r["seq"]): r for _, r in capture.records()}
            set_aside = {int(row[0]) for row in store_rows(db, "SELECT seq FROM poisoned")}  # type: ignore[call-overload]
            counted = store_rows(db, "SELECT value FROM meta WHERE key='set_aside'")
            notices = [r for r in delivered.values() if r.get("event") == "record_set_aside"]
            assert set_aside == poisoned
            assert counted and int(counted[0][0]) == 2  # type: ignore[call-overload]
            assert {n["data"]["seq"] for n in notices} == poisoned
            assert store_seqs(db) - poisoned <= set(delivered), "rows stuck behind the poison"
        finally:
            capture.close()
    finally:
        if agent.proc is not None:
            agent.kill()


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
