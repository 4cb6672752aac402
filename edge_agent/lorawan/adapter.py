"""The ChirpStack client: the agent's MQTT client (``edge_agent.mqtt_client``) on ChirpStack's local broker.

Fixed client id and a persistent session, so the broker keeps QoS 1 events while the agent is away; manual
acknowledgement, so a message is acknowledged only after its records were committed. At most ``max_pending``
messages are between the network thread and the service: that thread waits for room (backpressure, counted), it
never drops.
"""

from __future__ import annotations

import asyncio
import threading

from edge_agent.backoff import Backoff
from edge_agent.lorawan.config import ChirpstackConfig
from edge_agent.lorawan.events import EVENT_TYPES
from edge_agent.mqtt_client import Message, MqttCallbacks, MqttClient, MqttSettings

RECONNECT_MIN_S = 1.0  # the local broker: retried soon, at most every 30 s
RECONNECT_MAX_S = 30.0
MAX_QUEUED = 1000  # downlink commands held while the local broker is away


def subscriptions(config: ChirpstackConfig) -> list[str]:
    applications = config.application_ids or ["+"]
    return [f"application/{app}/device/+/event/{kind}" for app in applications for kind in EVENT_TYPES]


class ChirpstackMqtt:
    """The client on its own thread, handing messages to asyncio through a bounded hand-over."""

    def __init__(self, config: ChirpstackConfig, *, max_pending: int = 256) -> None:
        self._config = config
        self._slots = threading.BoundedSemaphore(max_pending)
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: MqttClient | None = None
        self._stopping = threading.Event()
        self.subscribed = False
        self.stats = {"received": 0, "acked": 0, "backpressure_waits": 0, "dropped_at_stop": 0,
                      "connects": 0, "published": 0}

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        settings = MqttSettings(host=self._config.host, port=self._config.port, client_id=self._config.client_id,
                                name="chirpstack_mqtt", keepalive=self._config.keepalive, clean_session=False,
                                manual_ack=True, max_queued=MAX_QUEUED)
        callbacks = MqttCallbacks(on_connected=self._on_connected, on_disconnected=self._on_disconnected,
                                  on_message=self._on_message, on_subscribed=self._on_subscribed)
        client = MqttClient(settings, callbacks, Backoff(RECONNECT_MIN_S, RECONNECT_MAX_S))
        for topic in subscriptions(self._config):
            client.subscribe(topic, qos=1)
        self._client = client
        client.start("mqtt-chirpstack")

    async def stop(self) -> None:
        self._stopping.set()
        client = self._client
        if client is None:
            return
        await asyncio.to_thread(client.stop, 1.0)
        self._client = None

    async def get(self) -> Message:
        return await self._queue.get()

    def get_nowait(self) -> Message | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def ack(self, message: Message) -> None:
        """The message's records are committed: let the broker forget it."""
        if self._client is not None:
            self._client.ack(message)
        self.stats["acked"] += 1
        self._slots.release()

    def release(self, message: Message) -> None:
        """Give the message's slot back without acknowledging it (the broker will send it again)."""
        self._slots.release()

    def publish(self, topic: str, payload: bytes) -> None:
        if self._client is None:
            raise RuntimeError("the ChirpStack MQTT client is not started")
        self._client.publish(topic, payload, qos=1)
        self.stats["published"] += 1

    # -- the network thread ----------------------------------------------------------------------

    def _on_connected(self, session_present: bool) -> None:
        self.stats["connects"] += 1

    def _on_subscribed(self, refused: list[str]) -> None:
        self.subscribed = not refused

    def _on_disconnected(self, reason: str) -> None:
        self.subscribed = False

    def _on_message(self, message: Message) -> None:
        if not self._slots.acquire(blocking=False):
            self.stats["backpressure_waits"] += 1
            while not self._slots.acquire(timeout=0.5):
                if self._stopping.is_set():
                    self.stats["dropped_at_stop"] += 1  # not acknowledged: the broker keeps it for next time
                    return
        self.stats["received"] += 1
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, message)
