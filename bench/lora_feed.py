"""A ChirpStack v4 stand-in: JSON uplink events of N nodes published QoS 1 to Mosquitto at a steady rate."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.lorawan_bench import _devices, _event


def devices(count: int) -> list[dict[str, Any]]:
    """Site-config entries of ``count`` LoRaWAN nodes (bins, streetlight controllers, counters in turn)."""
    return _devices(count)


class LoraFeed:
    """Publishes uplinks round-robin over ``nodes`` nodes, ``rate`` uplinks/s, each stamped with the send time.

    ``warm_up`` (rounds, uplinks/s; none by default): the first passes over the nodes go at that rate, so that every
    node has been heard that many times before the nominal rate begins (``warmed_up``), as on a gateway that has run
    for a while."""

    def __init__(self, port: int, nodes: int, rate: float, *, warm_up: tuple[int, float] = (0, 0.0)) -> None:
        self.nodes, self.rate, self.sent = nodes, rate, 0
        rounds, warm_rate = warm_up
        self.warm_up_uplinks, self.warm_up_rate = (nodes * rounds, warm_rate) if rounds and warm_rate else (0, 0.0)
        self._stop = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-chirpstack-{port}")
        self.client.max_inflight_messages_set(100)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="lora-feed", daemon=True)

    def start(self) -> LoraFeed:
        self._thread.start()
        return self

    @property
    def warmed_up(self) -> bool:
        return self.sent >= self.warm_up_uplinks

    def _due(self, began: float) -> float:
        fast = self.warm_up_uplinks
        if self.sent < fast:
            return began + self.sent / self.warm_up_rate
        return began + (fast / self.warm_up_rate if fast else 0.0) + (self.sent - fast) / self.rate

    def _run(self) -> None:
        began = time.monotonic()
        while not self._stop.is_set():
            due = self._due(began)
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            topic, raw = _event(self.sent, self.nodes, "json")
            event = json.loads(raw)
            event["time"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            self.client.publish(topic, json.dumps(event).encode(), qos=1)
            self.sent += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.disconnect()
        self.client.loop_stop()
