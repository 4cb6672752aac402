"""The agent's one MQTT client: MQTT 3.1.1 or 5 on a plain socket (wrapped in TLS when the site asks for it).

Used by the uplink to the regional broker, by the ChirpStack client and by the reference hypervisor ingest.
A thread of its own runs the network loop and reconnects after the agent's one retry policy (``edge_agent.backoff``,
full jitter), moving to the next broker endpoint after each failed attempt (a cluster's nodes, or a primary and a
backup). TLS and credentials when given; a persistent session (MQTT 5 with a session expiry, so the broker keeps it
across an outage, or 3.1.1 without a clean session); the subscriptions made again at every connection; QoS 1
publishes whose PUBACK is reported by message id; with ``manual_ack``, a message received is acknowledged only when
the caller says so (after committing it). Callbacks are called from the network thread: the caller hands them on.

The packets are ``edge_agent.mqtt.packets``; this module is the socket, the thread and the session's state. QoS 1
publishes are kept until their PUBACK: those in flight when the link drops are sent again (DUP) at the next
connection, where their PUBACK comes under the same message id; at most ``max_inflight`` are in flight, the others
wait their turn. Reason codes are read by their MQTT 5 names (an MQTT 3.1.1 return code by the name of the same
meaning), which ``plain_reason`` turns into words. ``ssl`` is imported only for a broker reached through TLS.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_agent.backoff import Backoff, random_share
from edge_agent.errors import LinkDown
from edge_agent.frozen import frozen
from edge_agent.logs import get_logger
from edge_agent.mqtt import packets as pk
from edge_agent.sync.credentials import Credentials

if TYPE_CHECKING:
    import ssl

log = get_logger(__name__)


@frozen
class TlsFiles:
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    verify: bool


@frozen
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
    max_queued: int = 0  # QoS 1 publishes held while the broker is away; 0: a publish then raises LinkDown
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
    """A reason code's name (or an error's text) in words a field technician can act on."""
    text = str(reason)
    return _PLAIN.get(text, text)


@frozen(slots=True)
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


CONNECT_TIMEOUT = 5.0  # seconds for the TCP connection and the TLS handshake
GOODBYE_TIMEOUT = 0.5  # seconds a stop gives the last bytes (a status, the DISCONNECT) to leave
_READ_SIZE = 65_536
_POLL_CAP = 2.0  # seconds: the network thread looks at its timers at least this often

_LOST = "Unspecified error"  # the name of a link that ended without a reason (closed, reset, unreadable)
_REFUSED = "refused"  # the broker refused the connection: reported already, as "cannot connect: ..."


def wire_name(host: str) -> str | bytes:
    """The broker's name as the resolver and OpenSSL take it: ASCII as bytes, which both take as they are. Python
    encodes a ``str`` host with its IDNA codec, which loads ``encodings.idna``, ``stringprep`` and ``unicodedata``
    (0.3 MB resident for the daemon's life) for a name that needs no encoding; a name that does stays ``str``."""
    return host.encode("ascii") if host.isascii() else host


def _tls_context(tls: TlsFiles) -> ssl.SSLContext:
    """The TLS context, built when the client is: unusable files fail there (``ssl.SSLError``, ``OSError``)."""
    import ssl  # only a site whose broker is reached through TLS loads ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the certificate and the host name by default
    if tls.cert_file is not None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.ca_file is not None:
        context.load_verify_locations(str(tls.ca_file))
    else:
        context.load_default_certs()
    return context


def _pending(sock: socket.socket) -> int:
    """Bytes a TLS socket has decrypted already (the poll cannot see them); 0 for a plain socket."""
    pending: Callable[[], int] | None = getattr(sock, "pending", None)
    return pending() if pending is not None else 0


@dataclass(slots=True)
class _Outgoing:
    """A QoS 1 publish until its PUBACK: encoded once, sent again with DUP after a reconnection."""

    packet: bytes
    sent: bool = False  # on the current connection (counts in the window)
    dup: bool = False  # sent on an earlier connection


class MqttClient:
    """One client, one network thread. Constructing it does no I/O; ``start`` begins connecting.

    ``_lock`` guards the socket and the session's state shared with the callers' threads (``publish``, ``ack``,
    ``subscribe``): a caller writes its packet itself, the network thread reads; never both on one (TLS) socket at
    once. Callbacks run without the lock, so one may wait on the caller (the ChirpStack client's backpressure)."""

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
        self._tls = _tls_context(settings.tls) if settings.tls else None
        self._again: tuple[type[Exception], ...] = (BlockingIOError, InterruptedError)
        if self._tls is not None:
            import ssl

            self._again += (ssl.SSLWantReadError, ssl.SSLWantWriteError)
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._online = False  # the broker accepted the connection on ``_sock``
        self._write_failed = False
        self._out = bytearray()  # bytes the socket has not taken yet
        self._messages: dict[int, _Outgoing] = {}  # QoS 1 publishes until their PUBACK, in order
        self._inflight = 0
        self._waiting = 0  # of ``_messages``, those not sent on this connection
        self._last_mid = 0
        self._last_out = self._last_in = self._ping_sent = 0.0
        self._keepalive = settings.keepalive
        self._reader = pk.PacketReader()
        self._wake_r = self._wake_w = -1

    # -- lifecycle -----------------------------------------------------------------------------

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe now and at every connection (QoS 0 or 1)."""
        if qos not in (0, 1):
            raise ValueError("QoS 0 or 1 only")
        self._subscriptions.append((topic, qos))
        if self._connected.is_set():
            with self._lock:
                if self._online:
                    self._send(pk.encode_subscribe(self._next_mid(), [(topic, qos)], self.settings.mqtt5))

    def start(self, thread_name: str = "mqtt") -> None:
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Say goodbye (DISCONNECT: the broker then keeps the will to itself) and end the network thread."""
        self._stopping.set()
        with self._lock:
            self._wake()
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
        if not topic or "+" in topic or "#" in topic:
            raise ValueError(f"invalid topic to publish on: {topic!r}")
        if qos not in (0, 1):
            raise ValueError("QoS 0 or 1 only")
        mqtt5 = self.settings.mqtt5
        properties: pk.Properties = {pk.MESSAGE_EXPIRY_INTERVAL: expiry} if expiry is not None and mqtt5 else {}
        with self._lock:
            if qos == 1 and 0 < self.settings.max_queued <= len(self._messages):
                raise LinkDown("publish refused by the MQTT client: Message queue full.")
            mid = self._next_mid()
            packet = pk.encode_publish(pk.Publish(topic, payload, qos, retain, False, mid if qos else 0, properties),
                                       mqtt5)
            if qos == 0:
                if self._online:
                    self._send(packet)
                return mid
            message = _Outgoing(packet)
            self._messages[mid] = message
            self._waiting += 1
            self._fill_window()
        return mid

    def ack(self, message: Message) -> None:
        """With ``manual_ack``: the message is safe (committed), the broker may forget it."""
        if message.qos > 0 and self.settings.manual_ack:
            with self._lock:
                if self._online:
                    self._send(pk.encode_puback(message.mid, self.settings.mqtt5))

    # -- writing (the lock held) -----------------------------------------------------------------

    def _next_mid(self) -> int:
        while True:
            self._last_mid = self._last_mid % 65_535 + 1
            if self._last_mid not in self._messages:
                return self._last_mid

    def _send(self, data: bytes) -> None:
        """Hand bytes to the socket; what it does not take now, the network thread writes when it can."""
        sock = self._sock
        if sock is None or self._write_failed:
            return
        if self._out:
            self._out += data
            return
        try:
            sent = sock.send(data)
        except self._again:
            sent = 0
        except OSError:
            self._write_failed = True
            self._wake()
            return
        self._last_out = time.monotonic()
        if sent < len(data):
            self._out += memoryview(data)[sent:]
            self._wake()

    def _flush(self) -> None:
        sock = self._sock
        while self._out and sock is not None and not self._write_failed:
            try:
                sent = sock.send(self._out)
            except self._again:
                return
            except OSError:
                self._write_failed = True
                return
            del self._out[:sent]
            self._last_out = time.monotonic()

    def _fill_window(self) -> None:
        """Send waiting QoS 1 publishes while the window (``max_inflight``) has room."""
        if not self._online or not self._waiting:
            return
        limit = self.settings.max_inflight
        for message in self._messages.values():
            if limit and self._inflight >= limit:
                return
            if not message.sent:
                message.sent = True
                self._inflight += 1
                self._waiting -= 1
                self._send(pk.with_dup(message.packet) if message.dup else message.packet)
                if not self._waiting:
                    return

    def _wake(self) -> None:
        """Wake the network thread out of its poll."""
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):  # full (it is awake already) or closed
                os.write(self._wake_w, b"\0")

    # -- the network thread --------------------------------------------------------------------

    @property
    def broker(self) -> str:
        host, port = self._brokers[self._current]
        return f"{host}:{port}"

    def _run(self) -> None:
        if self.settings.start_jitter > 0:
            self._stopping.wait(self.settings.start_jitter * random_share())
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        with self._lock:
            self._wake_r, self._wake_w = wake_r, wake_w
        try:
            while not self._stopping.is_set():
                sock = self._open()
                if sock is None:
                    self._failover()
                    self._pause()
                    continue
                self._serve(sock)
                if not self._stopping.is_set():
                    self._pause()
        finally:
            with self._lock:
                self._wake_r = self._wake_w = -1
            os.close(wake_r)
            os.close(wake_w)

    def _open(self) -> socket.socket | None:
        """Connect (TCP, then TLS) and send CONNECT; None when the broker cannot be reached."""
        s = self.settings
        host, port = self._brokers[self._current]
        sock: socket.socket | None = None
        name = wire_name(host)
        try:
            # typeshed types the host as str; create_connection hands it to getaddrinfo, which takes bytes too
            sock = socket.create_connection((name, port), timeout=CONNECT_TIMEOUT)  # type: ignore[arg-type]
            if self._tls is not None:
                tls_sock = self._tls.wrap_socket(sock, server_hostname=name, do_handshake_on_connect=False)
                sock = tls_sock
                tls_sock.settimeout(CONNECT_TIMEOUT)
                tls_sock.do_handshake()
            sock.setblocking(False)
        except (OSError, ValueError) as exc:
            if sock is not None:
                sock.close()
            self._mark_down(f"cannot reach {host}:{port}: {exc}")
            return None
        properties: pk.Properties = {}
        if s.mqtt5:
            properties[pk.SESSION_EXPIRY_INTERVAL] = 0 if s.clean_session else s.session_expiry
        connect = pk.Connect(
            s.client_id, s.keepalive, s.clean_session, s.mqtt5,
            s.credentials.username if s.credentials else None, s.credentials.password if s.credentials else None,
            s.will_topic or None, s.will_payload, 1 if s.will_topic else 0, bool(s.will_topic), properties,
        )
        with self._lock:
            self._sock = sock
            self._online = self._write_failed = False
            self._out.clear()
            self._reader.clear()
            self._keepalive = s.keepalive
            self._last_in = self._last_out = time.monotonic()
            self._ping_sent = 0.0
            for message in self._messages.values():  # the publishes in flight go again once connected
                if message.sent:
                    message.sent, message.dup = False, True
                    self._waiting += 1
            self._inflight = 0
            self._send(pk.encode_connect(connect))
        return sock

    def _serve(self, sock: socket.socket) -> None:
        """The connection's life: read, write, keep alive, until it ends or the client stops."""
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        fd = sock.fileno()
        ended: str | None = None
        try:
            while ended is None and not self._stopping.is_set():
                with self._lock:
                    failed, writing = self._write_failed, bool(self._out)
                if failed:
                    ended = _LOST
                    break
                poller.register(fd, select.POLLIN | select.POLLOUT if writing else select.POLLIN)
                timeout = self._next_timer(time.monotonic())
                events = poller.poll(None if timeout is None else max(10, int(timeout * 1000)))
                readable = False
                for event_fd, mask in events:
                    if event_fd == self._wake_r:
                        self._drain_wake()
                    elif mask & select.POLLOUT:
                        with self._lock:
                            self._flush()
                    if event_fd == fd and mask & (select.POLLIN | select.POLLERR | select.POLLHUP):
                        readable = True
                if readable:
                    ended = self._receive(sock)
                if ended is None:
                    ended = self._keep_alive(time.monotonic())
        finally:
            if ended is None:
                self._goodbye(sock)
            else:
                self._close(sock)
        if ended is not None and ended != _REFUSED and not self._stopping.is_set():
            self._mark_down(f"disconnected: {plain_reason(ended)}")
        else:
            self._connected.clear()

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_r, 512):
                pass

    def _receive(self, sock: socket.socket) -> str | None:
        """Read what arrived and act on each whole packet; the reason's name when the connection ends."""
        with self._lock:
            try:
                while True:
                    data = sock.recv(_READ_SIZE)
                    if not data:
                        return _LOST
                    self._reader.feed(data)
                    self._last_in = time.monotonic()
                    if len(data) < _READ_SIZE and not _pending(sock):
                        break
            except self._again:
                pass
            except OSError:
                return _LOST
        try:
            for first, body in self._reader.packets():
                ended = self._handle(first, body)
                if ended is not None:
                    return ended
        except pk.MalformedPacket:
            return "Malformed packet"
        return None

    def _handle(self, first: int, body: bytes) -> str | None:
        kind = first >> 4
        mqtt5 = self.settings.mqtt5
        if kind == pk.PUBLISH:
            self._on_publish(pk.decode_publish(first, body, mqtt5))
        elif kind == pk.PUBACK:
            self._on_puback(*pk.decode_puback(body, mqtt5)[:2])
        elif kind == pk.PINGRESP:
            self._ping_sent = 0.0
        elif kind == pk.SUBACK:
            self._on_suback(pk.decode_suback(body, mqtt5)[1])
        elif kind == pk.CONNACK:
            return self._on_connack(pk.decode_connack(body, mqtt5))
        elif kind == pk.DISCONNECT:
            return pk.reason_name(pk.decode_disconnect(body, mqtt5), pk.DISCONNECT)
        return None  # PUBREC, PUBREL, PUBCOMP, UNSUBACK, AUTH: nothing the agent asks for

    def _next_timer(self, now: float) -> float | None:
        """Seconds until the keepalive has something to do (a PINGREQ to send, a silence to judge)."""
        if self._keepalive <= 0:
            return _POLL_CAP
        return min(_POLL_CAP, max(0.0, min(self._last_out, self._last_in) + self._keepalive - now))

    def _keep_alive(self, now: float) -> str | None:
        """PINGREQ after ``keepalive`` seconds without traffic; the link is dead when nothing at all came back
        within ``keepalive`` seconds of it (or of the CONNECT, before the CONNACK)."""
        keepalive = self._keepalive
        if keepalive <= 0:
            return None
        with self._lock:
            if not self._online:
                return "Keep alive timeout" if now - self._last_in >= keepalive else None
            if now - self._last_out < keepalive and now - self._last_in < keepalive:
                return None
            if self._ping_sent and now - self._last_in >= keepalive:
                return "Keep alive timeout"
            if not self._ping_sent or now - self._ping_sent >= keepalive:
                self._send(pk.PING_REQUEST)
                self._ping_sent = now
            self._last_out = self._last_in = now
        return None

    def _goodbye(self, sock: socket.socket) -> None:
        """The client stops: the last bytes, a DISCONNECT, then the end of the stream."""
        with self._lock:
            if self._online:
                self._send(pk.encode_disconnect(self.settings.mqtt5))
            self._online = False
        self._connected.clear()
        deadline = time.monotonic() + GOODBYE_TIMEOUT
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLOUT)
        while time.monotonic() < deadline:
            with self._lock:
                self._flush()
                if not self._out or self._write_failed:
                    break
            poller.poll(50)
        try:  # the FIN after the DISCONNECT, and the broker's end read before closing: no reset that could
            sock.shutdown(socket.SHUT_WR)  # overtake the DISCONNECT (the broker would then send the will)
            poller.modify(sock.fileno(), select.POLLIN)
            while time.monotonic() < deadline:
                if not poller.poll(50):
                    continue
                try:
                    if not sock.recv(_READ_SIZE):
                        break
                except self._again:
                    continue
        except OSError:
            pass
        self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = None
            self._online = False
            self._out.clear()
        sock.close()

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
            self._callback(self._callbacks.on_disconnected, reason)
        self._down_reason = reason

    def _callback(self, callback: Callable[..., None], *args: Any) -> None:
        """A callback that fails is logged; the network thread goes on."""
        try:
            callback(*args)
        except Exception as exc:
            log.exception(f"{self.settings.name}_callback_failed", error=f"{type(exc).__name__}: {exc}")

    # -- packets from the broker (network thread) ----------------------------------------------

    def _on_connack(self, connack: pk.Connack) -> str | None:
        s = self.settings
        reason = pk.connack_reason(connack.reason, s.mqtt5)
        if reason != 0:
            self._mark_down(f"cannot connect: {plain_reason(pk.reason_name(reason, pk.CONNACK))}")
            self._failover()
            self._down_reason = None  # each refused attempt is reported: the operator is fixing the cause
            return None if self._stopping.is_set() else _REFUSED
        self._backoff.reset()
        self._down_reason = None
        # MQTT 5 brokers announce the largest packet they take; a 3.1.1 broker cannot say, and Mosquitto then
        # acknowledges an oversized publish and drops it: batch_max_bytes must stay under its message_size_limit.
        announced = connack.properties.get(pk.MAXIMUM_PACKET_SIZE)
        self.max_packet_size = announced if isinstance(announced, int) else None
        server_keepalive = connack.properties.get(pk.SERVER_KEEP_ALIVE)
        with self._lock:
            if isinstance(server_keepalive, int):
                self._keepalive = server_keepalive
            self._online = True
            if self._subscriptions:
                self._send(pk.encode_subscribe(self._next_mid(), self._subscriptions, s.mqtt5))
            self._fill_window()
        self._connected.set()
        log.info(f"{s.name}_up", broker=self.broker, protocol="5" if s.mqtt5 else "3.1.1",
                 session_present=connack.session_present, client_id=s.client_id)
        self._callback(self._callbacks.on_connected, connack.session_present)
        return None

    def _on_publish(self, publish: pk.Publish) -> None:
        if publish.qos > 1:
            raise pk.MalformedPacket("a QoS 2 message, never subscribed to")
        self._callback(self._callbacks.on_message, Message(publish.topic, publish.payload, publish.mid, publish.qos))
        if publish.qos == 1 and not self.settings.manual_ack:
            with self._lock:
                if self._online:
                    self._send(pk.encode_puback(publish.mid, self.settings.mqtt5))

    def _on_puback(self, mid: int, reason: int) -> None:
        with self._lock:
            message = self._messages.pop(mid, None)
            if message is None:
                return
            if message.sent:
                self._inflight -= 1
            else:
                self._waiting -= 1
            self._fill_window()
        if pk.is_failure(reason):
            log.error(f"{self.settings.name}_publish_refused", mid=mid,
                      reason=plain_reason(pk.reason_name(reason, pk.PUBACK)))
            return
        self._callback(self._callbacks.on_ack, mid)

    def _on_suback(self, reasons: list[int]) -> None:
        refused = [plain_reason(pk.reason_name(r, pk.SUBACK)) for r in reasons if pk.is_failure(r)]
        if refused:
            log.error(f"{self.settings.name}_subscribe_refused", reasons=refused, client_id=self.settings.client_id)
        self._callback(self._callbacks.on_subscribed, refused)
