"""A capturing MQTT subscriber on a real broker (paho-mqtt: a peer independent of the agent's own client)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass(frozen=True)
class Captured:
    topic: str
    payload: bytes
    retain: bool
    qos: int

    def json(self) -> Any:
        return json.loads(self.payload)


class Capture:
    """Subscribes to a filter and keeps every message; ``wait_for`` polls a predicate."""

    def __init__(self, port: int, topic: str = "#", *, client_id: str | None = None, qos: int = 1,
                 clean: bool = True) -> None:
        self.messages: list[Captured] = []
        self._lock = threading.Lock()
        self._topic = topic
        self._qos = qos
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or "", clean_session=clean if client_id else True
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the capture could not subscribe")

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(self._topic, qos=self._qos)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Captured(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))

    def snapshot(self, topic_part: str = "") -> list[Captured]:
        with self._lock:
            return [m for m in self.messages if topic_part in m.topic]

    def wait_for(self, predicate: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                result = predicate(list(self.messages))
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met after {timeout} s ({len(self.messages)} messages seen)")
            time.sleep(interval)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def publish(port: int, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False) -> None:
    """Publish one message and wait until the broker has it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()
