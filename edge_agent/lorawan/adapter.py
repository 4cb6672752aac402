"""The one module that speaks MQTT to ChirpStack's local broker (paho-mqtt 2.x).

Fixed client id and a persistent session, so the broker keeps QoS 1 events while the agent is away; manual
acknowledgement, so a message is acknowledged only after its records were committed. At most ``max_pending``
messages are between paho and the service: paho's thread waits for room (backpressure, counted), it never drops.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.lorawan.config import ChirpstackConfig
from edge_agent.lorawan.events import EVENT_TYPES

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    payload: bytes
    mid: int
    qos: int


def subscriptions(config: ChirpstackConfig) -> list[str]:
    applications = config.application_ids or ["+"]
    return [f"application/{app}/device/+/event/{kind}" for app in applications for kind in EVENT_TYPES]


class ChirpstackMqtt:
    """A paho client on its own thread, handing messages to asyncio through a bounded hand-over."""

    def __init__(self, config: ChirpstackConfig, *, max_pending: int = 256) -> None:
        self._config = config
        self._slots = threading.BoundedSemaphore(max_pending)
        self._queue: asyncio.Queue[Incoming] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._stopping = threading.Event()
        self.connected = False
        self.subscribed = False
        self.stats = {"received": 0, "acked": 0, "backpressure_waits": 0, "dropped_at_stop": 0,
                      "connects": 0, "published": 0}

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self._config.client_id, clean_session=False,
                             manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(1, 30)
        client.max_queued_messages_set(1000)
        self._client = client
        client.connect_async(self._config.host, self._config.port, keepalive=self._config.keepalive)
        client.loop_start()

    async def stop(self) -> None:
        self._stopping.set()
        client = self._client
        if client is None:
            return
        await asyncio.to_thread(self._shutdown, client)
        self._client = None

    @staticmethod
    def _shutdown(client: mqtt.Client) -> None:
        client.disconnect()
        client.loop_stop()

    async def get(self) -> Incoming:
        return await self._queue.get()

    def get_nowait(self) -> Incoming | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def ack(self, message: Incoming) -> None:
        """The message's records are committed: let the broker forget it."""
        if self._client is not None and message.qos > 0:
            self._client.ack(message.mid, message.qos)
        self.stats["acked"] += 1
        self._slots.release()

    def release(self, message: Incoming) -> None:
        """Give the message's slot back without acknowledging it (the broker will send it again)."""
        self._slots.release()

    def publish(self, topic: str, payload: bytes) -> None:
        if self._client is None:
            raise RuntimeError("the ChirpStack MQTT client is not started")
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise RuntimeError(f"publish to {topic} refused: {mqtt.error_string(info.rc)}")
        self.stats["published"] += 1

    # -- paho's thread ---------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("chirpstack_mqtt_refused", reason=str(reason))
            return
        self.stats["connects"] += 1
        if not self.connected:
            log.info("chirpstack_mqtt_connected", host=self._config.host, port=self._config.port,
                     session_present=bool(flags.session_present))
        self.connected = True
        client.subscribe([(topic, 1) for topic in subscriptions(self._config)])

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("chirpstack_mqtt_subscribe_refused", reasons=failed)
        self.subscribed = not failed

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if self.connected and not self._stopping.is_set():
            log.warning("chirpstack_mqtt_disconnected", reason=str(reason))
        self.connected = False
        self.subscribed = False

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if not self._slots.acquire(blocking=False):
            self.stats["backpressure_waits"] += 1
            while not self._slots.acquire(timeout=0.5):
                if self._stopping.is_set():
                    self.stats["dropped_at_stop"] += 1  # not acknowledged: the broker keeps it for next time
                    return
        self.stats["received"] += 1
        incoming = Incoming(msg.topic, bytes(msg.payload), int(msg.mid), int(msg.qos))
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, incoming)
