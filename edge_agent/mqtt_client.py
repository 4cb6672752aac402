"""The agent's one MQTT client (paho-mqtt 2.x): the only module that imports paho.

Used by the uplink to the regional broker, by the ChirpStack client and by the reference hypervisor ingest.
A thread of its own runs the network loop and reconnects after the agent's one retry policy (``edge_agent.backoff``,
full jitter), moving to the next broker endpoint after each failed attempt (a cluster's nodes, or a primary and a
backup). TLS and credentials when given; a persistent session (MQTT 5 with a session expiry, so the broker keeps it
across an outage, or 3.1.1 without a clean session); the subscriptions made again at every connection; QoS 1
publishes whose PUBACK is reported by message id; with ``manual_ack``, a message received is acknowledged only when
the caller says so (after committing it). Callbacks are called from the network thread: the caller hands them on.
"""

from __future__ import annotations

import random
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.backoff import Backoff
from edge_agent.errors import LinkDown
from edge_agent.logs import get_logger
from edge_agent.sync.credentials import Credentials

log = get_logger(__name__)


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    verify: bool


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    client_id: str
    name: str = "mqtt"  # the prefix of its log events: ``<name>_up``, ``<name>_down``
    keepalive: int = 60
    clean_session: bool = False
    mqtt5: bool = False
    tls: TlsFiles | None = None
    credentials: Credentials | None = None
    will_topic: str | None = None
    will_payload: bytes = b""
    max_inflight: int = 20
    max_queued: int = 0  # publishes paho holds while the broker is away; 0: a publish then raises LinkDown
    manual_ack: bool = False  # messages received are acknowledged by ``ack``, not on arrival
    endpoints: tuple[tuple[str, int], ...] = ()  # tried in turn after (host, port); empty: (host, port) alone
    session_expiry: int = 7 * 86_400  # MQTT 5: seconds the broker keeps the session (queued QoS 1) while away
    start_jitter: float = 0.0  # wait uniformly in [0, start_jitter] s before the very first attempt

    def brokers(self) -> list[tuple[str, int]]:
        """Every endpoint once, (host, port) first."""
        out = [(self.host, self.port)]
        out.extend(e for e in self.endpoints if e not in out)
        return out


# Reason codes as an operator reads them (MQTT 5 reason codes; 3.1.1 return codes map onto the same names).
_PLAIN = {
    "Unspecified error": "connection lost (the broker or the network closed it without a reason)",
    "Not authorized": "the broker refused the credentials or this client id (check the ACL and certificate)",
    "Bad user name or password": "the broker refused the user name or password",
    "Client identifier not valid": "the broker refused the client id",
    "Server unavailable": "the broker is up but not accepting connections (overloaded or starting)",
    "Server busy": "the broker is busy: it asked clients to come back later",
    "Server shutting down": "the broker is shutting down",
    "Session taken over": "another client connected with the same client id (two agents share one id?)",
    "Keep alive timeout": "the broker heard nothing within the keepalive",
    "Quota exceeded": "the broker's quota for this client is exceeded",
    "Message rate too high": "the broker throttles this client: messages too fast",
    "Connection rate exceeded": "the broker refuses new connections for a while (connection rate limit)",
    "Use another server": "the broker asked the client to use another server",
    "Server moved": "the broker moved: use another server",
}


def plain_reason(reason: object) -> str:
    """A paho reason code (or error string) in words a field technician can act on."""
    text = str(reason)
    return _PLAIN.get(text, text)


@dataclass(frozen=True, slots=True)
class Message:
    """A message received; ``mid`` and ``qos`` are what ``ack`` needs."""

    topic: str
    payload: bytes
    mid: int
    qos: int


@dataclass
class MqttCallbacks:
    on_connected: Callable[[bool], None] = lambda session_present: None
    on_disconnected: Callable[[str], None] = lambda reason: None
    on_ack: Callable[[int], None] = lambda mid: None
    on_message: Callable[[Message], None] = lambda message: None
    on_subscribed: Callable[[list[str]], None] = lambda refused: None  # the reasons of refused topics, or []


class MqttClient:
    """One client, one network thread. Constructing it does no I/O; ``start`` begins connecting."""

    def __init__(self, settings: MqttSettings, callbacks: MqttCallbacks, backoff: Backoff) -> None:
        self.settings = settings
        self._callbacks = callbacks
        self._backoff = backoff
        self._subscriptions: list[tuple[str, int]] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._down_reason: str | None = None
        self._brokers = settings.brokers()
        self._current = 0
        self.max_packet_size: int | None = None
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        protocol = MQTTProtocolVersion.MQTTv5 if s.mqtt5 else MQTTProtocolVersion.MQTTv311
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=s.client_id, clean_session=None if s.mqtt5 else s.clean_session,
            protocol=protocol, reconnect_on_failure=False, manual_ack=s.manual_ack,
        )
        client.max_inflight_messages_set(s.max_inflight)
        client.max_queued_messages_set(s.max_queued)
        if s.will_topic:
            client.will_set(s.will_topic, s.will_payload, qos=1, retain=True)
        if s.credentials:
            client.username_pw_set(s.credentials.username, s.credentials.password)
        if s.tls:
            client.tls_set(
                ca_certs=str(s.tls.ca_file) if s.tls.ca_file else None,
                certfile=str(s.tls.cert_file) if s.tls.cert_file else None,
                keyfile=str(s.tls.key_file) if s.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED if s.tls.verify else ssl.CERT_NONE,
            )
            client.tls_insecure_set(not s.tls.verify)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        # Our own thread runs the network loop, so paho would write a publish straight to the socket from the
        # caller's thread while the loop reads it: two threads on one TLS socket corrupt the session ("bad
        # record mac"). With this hook set, paho only queues the packet and wakes the loop, which writes it.
        client.on_socket_register_write = lambda *args: None
        return client

    # -- lifecycle -----------------------------------------------------------------------------

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe now and at every connection."""
        self._subscriptions.append((topic, qos))
        if self._connected.is_set():
            self._client.subscribe(topic, qos)

    def start(self, thread_name: str = "mqtt") -> None:
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stopping.set()
        if self._connected.is_set():
            self._client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False,
                expiry: int | None = None) -> int:
        """Publish; the message id is the one ``on_ack`` reports at PUBACK. ``expiry`` (MQTT 5): seconds after
        which the broker drops the message if nobody took it."""
        if not self._connected.is_set() and self.settings.max_queued == 0:
            raise LinkDown(f"the broker {self.broker} is not connected")
        properties = None
        if expiry is not None and self.settings.mqtt5:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = expiry
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise LinkDown(f"publish refused by the MQTT client: {mqtt.error_string(info.rc)}")
        return int(info.mid)

    def ack(self, message: Message) -> None:
        """With ``manual_ack``: the message is safe (committed), the broker may forget it."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    # -- the network thread --------------------------------------------------------------------

    @property
    def broker(self) -> str:
        host, port = self._brokers[self._current]
        return f"{host}:{port}"

    def _run(self) -> None:
        if self.settings.start_jitter > 0:
            self._stopping.wait(random.uniform(0.0, self.settings.start_jitter))
        opened = False
        while not self._stopping.is_set():
            if not opened:
                opened = self._open()
                if not opened:
                    self._failover()
                    self._pause()
                    continue
            rc = self._client.loop(timeout=0.2)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                opened = False
                self._mark_down(plain_reason(mqtt.error_string(rc)))
                if not self._stopping.is_set():
                    self._pause()
        self._client.loop(timeout=0.05)

    def _open(self) -> bool:
        s = self.settings
        host, port = self._brokers[self._current]
        properties = None
        if s.mqtt5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0 if s.clean_session else s.session_expiry
        try:
            self._client.connect(host, port, keepalive=s.keepalive,
                                 clean_start=s.clean_session if s.mqtt5 else 3, properties=properties)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._mark_down(f"cannot reach {host}:{port}: {exc}")
            return False
        return True

    def _failover(self) -> None:
        """After a failed attempt, the next endpoint (the backoff still applies between attempts)."""
        if len(self._brokers) > 1:
            self._current = (self._current + 1) % len(self._brokers)

    def _pause(self) -> None:
        self._stopping.wait(self._backoff.next_delay())

    def _mark_down(self, reason: str) -> None:
        """Log and report once when the link goes down, and again only if the cause of staying down changes."""
        was_up = self._connected.is_set()
        self._connected.clear()
        if was_up or self._down_reason is None or (self._down_reason != reason and reason.startswith("cannot")):
            log.warning(f"{self.settings.name}_down", reason=reason, broker=self.broker,
                        client_id=self.settings.client_id)
            self._callbacks.on_disconnected(reason)
        self._down_reason = reason

    # -- paho callbacks (network thread) -------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._mark_down(f"cannot connect: {plain_reason(reason)}")
            self._failover()
            return
        self._backoff.reset()
        self._down_reason = None
        # MQTT 5 brokers announce the largest packet they take; a 3.1.1 broker cannot say, and Mosquitto then
        # acknowledges an oversized publish and drops it: batch_max_bytes must stay under its message_size_limit.
        self.max_packet_size = getattr(props, "MaximumPacketSize", None) if props is not None else None
        if self._subscriptions:
            client.subscribe(list(self._subscriptions))
        self._connected.set()
        session_present = bool(getattr(flags, "session_present", False))
        log.info(f"{self.settings.name}_up", broker=self.broker, protocol="5" if self.settings.mqtt5 else "3.1.1",
                 session_present=session_present, client_id=self.settings.client_id)
        self._callbacks.on_connected(session_present)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not self._stopping.is_set():
            self._mark_down(f"disconnected: {plain_reason(reason)}")
        else:
            self._connected.clear()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        refused = [plain_reason(r) for r in reasons if getattr(r, "is_failure", False)]
        if refused:
            log.error(f"{self.settings.name}_subscribe_refused", reasons=refused, client_id=self.settings.client_id)
        self._callbacks.on_subscribed(refused)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.error(f"{self.settings.name}_publish_refused", mid=mid, reason=plain_reason(reason))
            return
        self._callbacks.on_ack(mid)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._callbacks.on_message(Message(message.topic, bytes(message.payload), int(message.mid), int(message.qos)))
