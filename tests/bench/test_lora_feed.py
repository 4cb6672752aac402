"""The bench's ChirpStack stand-in: a warm-up that has every node heard before the nominal rate (real Mosquitto, a
real subscriber counting what arrives)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import paho.mqtt.client as mqtt

from bench.hypervisor import subscribed_client
from bench.lora_feed import LoraFeed
from tests.support.broker import Broker


def test_the_warm_up_hears_every_node_twice_then_the_nominal_rate_takes_over(broker: Broker) -> None:
    """At the nominal rate (one uplink every 10 s) five nodes would take 90 s to be heard twice; a warm-up of two
    rounds at 50 a second has them within seconds, two uplinks each, and then the feed slows to the nominal rate."""
    heard: list[str] = []
    lock = threading.Lock()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with lock:
            heard.append(message.topic)

    listener = subscribed_client(broker.port, "test-listener", ["application/+/device/+/event/up"], on_message)
    feed = LoraFeed(broker.port, 5, 0.1, warm_up=(2, 50.0))
    try:
        began = time.monotonic()
        feed.start()
        deadline = began + 20
        while len(heard) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert feed.warmed_up
        with lock:
            warm = list(heard[:10])
        assert sorted(Counter(warm).values()) == [2] * 5, warm  # five nodes, twice each
        time.sleep(2.0)
        assert feed.sent <= 11  # then the nominal rate: one uplink now, the next 10 s later
    finally:
        feed.stop()
        listener.loop_stop()
        listener.disconnect()
