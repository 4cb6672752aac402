"""The bench's ChirpStack stand-in: a first round that has every node heard before the nominal rate (real
Mosquitto, a real subscriber counting what arrives)."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt

from bench.hypervisor import subscribed_client
from bench.lora_feed import LoraFeed
from tests.support.broker import Broker


def test_the_first_round_hears_every_node_once_then_the_nominal_rate_takes_over(broker: Broker) -> None:
    """At the nominal rate (one uplink every 10 s) five nodes would take 40 s to be heard once; the first round
    (50 a second) has them all within seconds, one uplink each, and then the feed slows to the nominal rate."""
    heard: list[str] = []
    lock = threading.Lock()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with lock:
            heard.append(message.topic)

    listener = subscribed_client(broker.port, "test-listener", ["application/+/device/+/event/up"], on_message)
    feed = LoraFeed(broker.port, 5, 0.1, first_round=50.0)
    try:
        began = time.monotonic()
        feed.start()
        deadline = began + 20
        while len(heard) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert feed.first_round_sent
        with lock:
            first = list(heard[:5])
        assert len(set(first)) == 5, first  # five nodes, once each
        time.sleep(2.0)
        assert feed.sent <= 6  # the next uplinks at the nominal rate: one now, then one every 10 s
    finally:
        feed.stop()
        listener.loop_stop()
        listener.disconnect()
