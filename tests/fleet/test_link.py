"""The agent's MQTT client as a fleet citizen, against a real Mosquitto: failover between endpoints, an MQTT 5
session that outlives a disconnection, reason codes in plain words."""

from __future__ import annotations

import threading
import time

from edge_agent.backoff import Backoff
from edge_agent.mqtt_client import Message, MqttCallbacks, MqttClient, MqttSettings, plain_reason
from tests.support.broker import Broker
from tests.support.mqtt import publish
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
        settings = MqttSettings(host="127.0.0.1", port=broker.port, client_id="gw-mqtt5", mqtt5=True,
                                session_expiry=600)
        callbacks = MqttCallbacks(on_connected=lambda _: up.set(), on_message=on_message)
        link = MqttClient(settings, callbacks, Backoff(0.05, 0.2))
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
        settings = MqttSettings(host="127.0.0.1", port=broker.port, client_id="ingest-ack", manual_ack=True)
        # "up" once the broker has acknowledged the subscription: a message published right after the connection
        # alone could reach the broker before the SUBSCRIBE does, and nobody would be subscribed to it yet.
        link = MqttClient(settings, MqttCallbacks(on_subscribed=lambda _: up.set(),
                                                  on_message=lambda m: (arrived.append((link, m)), got.set())),
                          Backoff(0.05, 0.2))
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
