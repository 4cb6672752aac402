"""The agent's MQTT client as a fleet citizen, against a real Mosquitto: failover between endpoints, an MQTT 5
session that outlives a disconnection, reason codes in plain words; QoS 1 in flight across a broker's death, the
keepalive, the in-flight window, publishes held while away, refusals by an ACL."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from edge_agent.backoff import Backoff
from edge_agent.errors import LinkDown
from edge_agent.logs import capture_logs
from edge_agent.mqtt_client import Message, MqttCallbacks, MqttClient, MqttSettings, plain_reason
from tests.support.broker import Broker
from tests.support.mqtt import Capture, publish
from tests.support.ports import free_port


def _wait(event: threading.Event, what: str, timeout: float = 15.0) -> None:
    assert event.wait(timeout), f"timed out waiting for {what}"


def test_fails_over_to_the_next_endpoint_when_the_first_is_dead(broker: Broker) -> None:
    up = threading.Event()
    dead = free_port()
    settings = MqttSettings(host="127.0.0.1", port=dead, client_id="gw-failover",
                            endpoints=(("127.0.0.1", dead), ("127.0.0.1", broker.port)))
    link = MqttClient(settings, MqttCallbacks(on_connected=lambda _: up.set()), Backoff(0.05, 0.2))
    link.start()
    try:
        _wait(up, "a connection through the second endpoint")
        assert link.broker == f"127.0.0.1:{broker.port}"
    finally:
        link.stop()


def test_mqtt5_session_keeps_queued_commands_while_the_gateway_is_away(broker: Broker) -> None:
    """Without a session expiry an MQTT 5 session ends at disconnection, and this command would be lost."""
    received: list[bytes] = []
    got = threading.Event()
    up = threading.Event()

    def on_message(message: Message) -> None:
        received.append(message.payload)
        got.set()

    def make() -> MqttClient:
        link = _link(broker.port, "gw-mqtt5", MqttCallbacks(on_connected=lambda _: up.set(), on_message=on_message),
                     mqtt5=True, session_expiry=600)
        link.subscribe("fute/gw-mqtt5/commands/#", qos=1)
        return link

    link = make()
    link.start()
    _wait(up, "first connection")
    link.stop()
    time.sleep(0.3)
    publish(broker.port, "fute/gw-mqtt5/commands", b"while-away", qos=1)
    up.clear()
    link = make()
    link.start()
    try:
        _wait(got, "the command queued in the session")
        assert received == [b"while-away"]
    finally:
        link.stop()


def test_with_manual_ack_a_message_not_acknowledged_comes_again(broker: Broker) -> None:
    """The ChirpStack client and the ingest acknowledge a message only once it is committed: one taken but not
    acknowledged before a stop is delivered again at the next connection; one acknowledged is not."""
    arrived: list[tuple[MqttClient, Message]] = []
    got = threading.Event()
    up = threading.Event()

    def make() -> MqttClient:
        # "up" once the broker has acknowledged the subscription: a message published right after the connection
        # alone could reach the broker before the SUBSCRIBE does, and nobody would be subscribed to it yet.
        link = _link(broker.port, "ingest-ack",
                     MqttCallbacks(on_subscribed=lambda _: up.set(),
                                   on_message=lambda m: (arrived.append((link, m)), got.set())),
                     manual_ack=True)
        link.subscribe("fute/+/readings", qos=1)
        return link

    link = make()
    link.start()
    _wait(up, "first connection")
    publish(broker.port, "fute/gw/readings", b"one", qos=1)
    _wait(got, "the first delivery")
    link.stop()
    assert [m.payload for _, m in arrived] == [b"one"]
    for again in range(2):
        got.clear()
        up.clear()
        link = make()
        link.start()
        try:
            if again == 0:
                _wait(got, "the unacknowledged message again")
                assert [m.payload for _, m in arrived] == [b"one", b"one"]
                link.ack(arrived[-1][1])
                time.sleep(0.5)  # the PUBACK goes out through the network thread
            else:
                _wait(up, "the third connection")
                assert not got.wait(1.0), "an acknowledged message came back"
        finally:
            link.stop()


def test_reason_codes_in_plain_words() -> None:
    assert "same client id" in plain_reason("Session taken over")
    assert "credentials" in plain_reason("Not authorized")
    assert plain_reason("something new") == "something new"


def test_endpoints_listed_once_host_first() -> None:
    settings = MqttSettings(host="a", port=1, client_id="x", endpoints=(("a", 1), ("b", 2)))
    assert settings.brokers() == [("a", 1), ("b", 2)]


def _link(port: int, client_id: str, callbacks: MqttCallbacks, **options: Any) -> MqttClient:
    settings = MqttSettings(host="127.0.0.1", port=port, client_id=client_id, **options)
    return MqttClient(settings, callbacks, Backoff(0.05, 0.2))


@pytest.mark.parametrize("mqtt5", [False, True])
def test_publishes_in_flight_when_the_broker_dies_are_sent_again_and_acknowledged(broker: Broker,
                                                                                   mqtt5: bool) -> None:
    """The uplink keeps a batch in flight by message id until its PUBACK: one unacknowledged when the link drops
    goes again (DUP) at the next connection, and its PUBACK comes under the same id."""
    acked: list[int] = []
    up = threading.Event()
    link = _link(broker.port, "gw-inflight", MqttCallbacks(on_connected=lambda _: up.set(), on_ack=acked.append),
                 mqtt5=mqtt5, max_inflight=3)
    link.start()
    try:
        _wait(up, "the first connection")
        assert broker.proc is not None
        broker.proc.send_signal(signal.SIGSTOP)  # takes the bytes, answers nothing
        mids = [link.publish(f"fute/gw/readings/{i}", f"batch-{i}".encode(), retain=True)  # 3 sent, 2 waiting
                for i in range(5)]
        time.sleep(0.3)
        assert acked == []
        up.clear()
        broker.kill()  # still stopped: it never answers those three
        broker.start()
        _wait(up, "the reconnection")
        deadline = time.monotonic() + 10
        while sorted(acked) != sorted(mids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(acked) == sorted(mids)
        capture = Capture(broker.port, "fute/gw/readings/#")  # what the broker took: retained, so seen now
        try:
            got = capture.wait_for(lambda messages: messages if len(messages) >= 5 else None)
            assert sorted(m.payload for m in got) == [f"batch-{i}".encode() for i in range(5)]
        finally:
            capture.close()
    finally:
        link.stop()


def test_a_silent_broker_is_declared_dead_within_two_keepalives(broker: Broker) -> None:
    reasons: list[str] = []
    up, down = threading.Event(), threading.Event()
    link = _link(broker.port, "gw-keepalive", MqttCallbacks(on_connected=lambda _: up.set(),
                                                            on_disconnected=lambda r: (reasons.append(r), down.set())),
                 keepalive=1)
    link.start()
    assert broker.proc is not None
    try:
        _wait(up, "the connection")
        time.sleep(1.5)  # PINGREQ and PINGRESP keep an idle link up
        assert link.connected and reasons == []
        broker.proc.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        _wait(down, "the keepalive to give up", timeout=5)
        assert time.monotonic() - started <= 3.0  # two keepalives at most, and slack for a loaded machine
        assert reasons == ["disconnected: the broker heard nothing within the keepalive"]
        up.clear()
        broker.proc.send_signal(signal.SIGCONT)
        _wait(up, "the connection again")
    finally:
        broker.proc.send_signal(signal.SIGCONT)
        link.stop()


def test_a_window_of_two_in_flight_still_delivers_every_publish(broker: Broker) -> None:
    acked: list[int] = []
    up = threading.Event()
    link = _link(broker.port, "gw-window", MqttCallbacks(on_connected=lambda _: up.set(), on_ack=acked.append),
                 max_inflight=2)
    link.start()
    try:
        _wait(up, "the connection")
        mids = [link.publish("fute/gw/readings", b"x" * 2000) for _ in range(200)]
        deadline = time.monotonic() + 10
        while len(acked) < len(mids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert acked == mids  # in order: the waiting ones go as the window opens
    finally:
        link.stop()


def test_with_max_queued_publishes_wait_for_the_broker_and_a_full_queue_refuses(broker: Broker) -> None:
    """The ChirpStack client's downlinks wait (up to max_queued) while the local broker is away; without
    max_queued a publish while away raises LinkDown, which the uplink's pump expects."""
    broker.stop()
    up = threading.Event()
    acked: list[int] = []
    waiting = _link(broker.port, "gw-queued", MqttCallbacks(on_connected=lambda _: up.set(), on_ack=acked.append),
                    max_queued=2)
    plain = _link(broker.port, "gw-unqueued", MqttCallbacks())
    with pytest.raises(LinkDown):
        plain.publish("fute/gw/status", b"away")
    first = waiting.publish("fute/gw/downlink", b"one")
    second = waiting.publish("fute/gw/downlink", b"two")
    with pytest.raises(LinkDown, match="queue full"):
        waiting.publish("fute/gw/downlink", b"three")
    capture = Capture(broker.start().port, "fute/gw/downlink")
    waiting.start()
    try:
        _wait(up, "the connection")
        got = capture.wait_for(lambda messages: messages if len(messages) >= 2 else None)
        assert [m.payload for m in got] == [b"one", b"two"]
        deadline = time.monotonic() + 5
        while len(acked) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert acked == [first, second]
    finally:
        waiting.stop()
        capture.close()


def test_an_mqtt5_publish_the_acl_refuses_is_reported_by_name_and_never_acknowledged(tmp_path: Path) -> None:
    """``<name>_publish_refused`` with the reason in plain words, and no on_ack: the uplink keeps the batch (its
    ack timeout offers it again). Mosquitto then closes the connection; the client comes back."""
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite allowed/#\n")
    broker = Broker(tmp_path, extra=f"acl_file {acl}").start()
    acked: list[int] = []
    subscribed = threading.Event()
    link = _link(broker.port, "gw-acl", MqttCallbacks(on_ack=acked.append, on_subscribed=lambda _: subscribed.set()),
                 mqtt5=True, name="probe")
    link.subscribe("allowed/commands/#")
    try:
        with capture_logs() as logs:
            link.start()
            _wait(subscribed, "the SUBACK")
            ok = link.publish("allowed/x", b"1")
            denied = link.publish("denied/x", b"2")
            deadline = time.monotonic() + 5
            while not any(e["event"] == "probe_publish_refused" for e in logs) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
        assert acked == [ok]
        events = [e for e in logs if e["event"] == "probe_publish_refused"]
        assert [(e["mid"], e["reason"]) for e in events] == [(denied, plain_reason("Not authorized"))]
    finally:
        link.stop()
        broker.stop()


def test_an_mqtt5_message_expiry_drops_what_nobody_took_in_time(broker: Broker) -> None:
    """The ingest's replay requests carry an expiry: a gateway away longer than it never gets a stale one."""
    received: list[bytes] = []
    up = threading.Event()

    def gateway() -> MqttClient:
        link = _link(broker.port, "gw-expiry", MqttCallbacks(on_subscribed=lambda _: up.set(),
                                                             on_message=lambda m: received.append(m.payload)),
                     mqtt5=True, session_expiry=600)
        link.subscribe("fute/gw-expiry/replay", qos=1)
        return link

    link = gateway()
    link.start()
    _wait(up, "the gateway's subscription")
    link.stop()
    sender_up = threading.Event()
    sender = _link(broker.port, "ingest-expiry", MqttCallbacks(on_connected=lambda _: sender_up.set()), mqtt5=True)
    sender.start()
    try:
        _wait(sender_up, "the sender's connection")
        sender.publish("fute/gw-expiry/replay", b"stale", expiry=1)
        sender.publish("fute/gw-expiry/replay", b"fresh", expiry=600)
        time.sleep(2.5)
    finally:
        sender.stop()
    up.clear()
    link = gateway()
    link.start()
    try:
        _wait(up, "the gateway back")
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert received == [b"fresh"]
    finally:
        link.stop()
