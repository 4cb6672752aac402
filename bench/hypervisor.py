"""The hypervisor's side: a QoS 1 subscription to the gateway's readings, timing each reading's arrival."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

_MAX_SAMPLES = 200_000  # latency samples kept (a bounded list; past it, one in every few is kept)


def subscribed_client(port: int, name: str, topics: list[str],
                      on_message: Callable[[mqtt.Client, object, mqtt.MQTTMessage], None]) -> mqtt.Client:
    """A client of the broker on ``port`` subscribed (QoS 1) to ``topics``, returned once the broker has
    acknowledged the subscription, its network loop running."""
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{name}-{port}")
    client.on_connect = lambda c, u, f, r, p: c.subscribe([(t, 1) for t in topics])
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    if not subscribed.wait(10):
        raise RuntimeError(f"the {name} stand-in could not subscribe to {', '.join(topics)}")
    return client


class Hypervisor:
    """Counts readings and records ``arrival - ts`` for those whose ``ts`` is at or after ``since``."""

    def __init__(self, port: int, topic: str) -> None:
        self.readings = 0
        self.messages = 0
        self.latencies: list[float] = []
        self.since = 0.0
        self._seen = 0
        self._tenths: Counter[int] = Counter()  # readings by the tenth of a second they were taken in
        self._lock = threading.Lock()
        self.client = subscribed_client(port, "hypervisor", [topic], self._on_message)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        arrived = time.time()
        records = json.loads(msg.payload).get("records", [])
        with self._lock:
            self.messages += 1
            for record in records:
                if "point" not in record:
                    continue
                self.readings += 1
                ts = datetime.fromisoformat(record["ts"]).timestamp()
                self._tenths[int(ts * 10)] += 1
                if ts >= self.since:
                    self._keep(arrived - ts)

    def _keep(self, latency: float) -> None:
        self._seen += 1
        if len(self.latencies) < _MAX_SAMPLES:
            self.latencies.append(latency)
        elif self._seen % 10 == 0:
            self.latencies[self._seen % _MAX_SAMPLES] = latency

    def reset(self) -> None:
        """Start a measurement: counts from zero, latencies of readings taken from now on."""
        with self._lock:
            self.readings = self.messages = self._seen = 0
            self.latencies = []
            self.since = time.time()

    def taken_between(self, start: float, end: float) -> tuple[int, float]:
        """The readings received so far that were taken (their ``ts``) in the whole tenths of a second between
        ``start`` and ``end``, and the seconds those tenths span. Unlike a count of arrivals, it does not depend on
        where a window falls among the gateway's group commits, which deliver readings a burst at a time."""
        first, last = math.ceil(start * 10), math.floor(end * 10)
        with self._lock:
            taken = sum(self._tenths.get(tenth, 0) for tenth in range(first, last))
        return taken, max(last - first, 0) / 10

    def snapshot(self) -> tuple[int, list[float]]:
        with self._lock:
            return self.readings, list(self.latencies)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
