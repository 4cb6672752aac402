"""The sync service: picks batches from the outbox lane by lane, publishes them QoS 1, acks them on PUBACK."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from edge_agent.backoff import Backoff
from edge_agent.cancellation import cancel_and_wait
from edge_agent.clock import Clock
from edge_agent.config.site import SiteConfig
from edge_agent.config.upstream import parse_endpoint
from edge_agent.errors import ConfigError, LinkDown
from edge_agent.logs import get_logger
from edge_agent.mqtt_client import Message, MqttCallbacks, MqttClient, MqttSettings, TlsFiles
from edge_agent.reading import Record
from edge_agent.store.worker import StoreWorker
from edge_agent.sync.compression import compress
from edge_agent.sync.credentials import check_tls_files, read_credentials
from edge_agent.sync.lanes import Lane, LanePlanner, Pick
from edge_agent.sync.payloads import Batch, build_batch, iso_utc, split_reports, status_payload
from edge_agent.sync.recent import DEFAULT_CAPACITY, RecentReadings
from edge_agent.sync.topics import Topics

log = get_logger(__name__)

_EARLY_MESSAGES = 64
_PACKET_OVERHEAD = 512  # fixed header, topic and properties of a PUBLISH, generously
SETUP_RETRY_S = 30.0  # seconds between two tries of credentials or TLS files that could not be used
ACK_FLUSH_INTERVAL = 1.0  # seconds: PUBACKs are written to the store together, at most this often


@dataclass
class InFlight:
    lane: Lane
    seqs: list[int]
    sent_at: float


@dataclass
class UplinkCounters:
    batches_sent: int = 0
    records_sent: int = 0
    records_acked: int = 0
    records_from_memory: int = 0  # readings taken as the group commit handed them (not read back from the store)
    last_ack_at: float | None = None
    connected_since: float | None = None
    last_disconnect_reason: str | None = None


StatusSource = Callable[[], Mapping[str, object]]  # the gateway's status fields
MessageHandler = Callable[[str, bytes], None]
# Contract hook: re-encodes a readings batch (NGSI-LD output); the records are the ones the batch carries.
BatchEncoder = Callable[[Batch, list[Any]], bytes]


class UplinkSync:
    """Upstream sync. ``notify_committed`` wakes it; a PUBACK is the only thing that removes a record."""

    name = "uplink"

    def __init__(self, config: SiteConfig, worker: StoreWorker, clock: Clock, status_source: StatusSource, *,
                 ack_sink: Callable[[list[int]], None] | None = None,
                 batch_encoder: BatchEncoder | None = None, recent_capacity: int = DEFAULT_CAPACITY) -> None:
        self._config = config
        self._sync = config.upstream.sync
        self._worker = worker
        self._clock = clock
        self._status_source = status_source
        self.topics = Topics(config.upstream.topic_prefix, config.gateway_id, config.upstream.topics)
        self.counters = UplinkCounters()
        self._planner = LanePlanner(
            batch=self._sync.batch_max_records, live_split=self._sync.live_split,
            drain_rate=self._sync.drain_rate, now=clock.monotonic(),
        )
        self._inflight: dict[int, InFlight] = {}
        self._recent = RecentReadings(recent_capacity)  # readings just committed, for the readings lanes
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._last_seq = 0
        self._idle = False
        self._acked: list[int] = []
        self._ack_flush: asyncio.TimerHandle | None = None
        # Where acknowledged seqs go: the committer, to be written with its next records in one transaction.
        # Unset (benchmarks, or once the committer has stopped), they are written here, once a second at most.
        self.ack_sink = ack_sink
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._link: MqttClient | None = None
        self.problem: str | None = None  # why the link cannot even be set up (credentials or TLS files)
        self.message_handler: MessageHandler | None = None
        self.batch_encoder = batch_encoder  # the contract's output encoding (upstream.output), None: the native one
        # Commands that arrive (queued QoS 1 for our session) before a handler is set; bounded, oldest dropped.
        self._early: collections.deque[tuple[str, bytes]] = collections.deque(maxlen=_EARLY_MESSAGES)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start sending. Unusable credentials or TLS files do not stop the agent (the lights and the store must
        keep working): the link stays down with ``problem`` saying why, and is tried again until they are fixed."""
        self._loop = asyncio.get_running_loop()
        self._last_seq = await self._worker.call(self._worker.store.last_seq)
        self._tasks = [asyncio.create_task(self._pump(), name="uplink-pump"),
                       asyncio.create_task(self._status_loop(), name="uplink-status")]
        if not self._open_link():
            self._tasks.append(asyncio.create_task(self._retry_link(), name="uplink-setup"))

    def _open_link(self) -> bool:
        try:
            check_tls_files(self._config)
            link = MqttClient(self._link_settings(), self._callbacks(), self._backoff())
        except (ConfigError, OSError) as exc:  # ssl.SSLError is an OSError
            problem = unusable_files(exc)
            if problem != self.problem:
                log.error("upstream_unusable", problem=problem, retry_s=self._setup_retry_s)
            self.problem = self.counters.last_disconnect_reason = problem
            return False
        if self.problem is not None:
            log.info("upstream_usable_again", was=self.problem)
        self.problem = None
        link.subscribe(f"{self.topics.commands}/#", qos=1)
        link.start("mqtt-upstream")
        self._link = link
        return True

    async def _retry_link(self) -> None:
        while True:
            await asyncio.sleep(self._setup_retry_s)
            if self._open_link():
                return

    @property
    def _setup_retry_s(self) -> float:
        return min(self._sync.reconnect_max, SETUP_RETRY_S)

    async def stop(self, grace: float = 0.5) -> None:
        """Give the outbox ``grace`` seconds to go up, then say goodbye; what is left goes at the next start."""
        self.ack_sink = None  # the committer has stopped: the last acknowledgements are written here
        await self._settle(grace)
        await cancel_and_wait(self._tasks)  # a pump woken as it is cancelled must still end
        link = self._link
        if link is not None and link.connected:
            with contextlib.suppress(LinkDown):
                link.publish(self.topics.status, self._status_bytes(online=False, reason="stopped"), retain=True)
            await asyncio.sleep(0.2)
        if self._ack_flush is not None:
            self._ack_flush.cancel()
        flushing = self._flush_acks()
        if flushing is not None:
            await flushing
        if link is not None:
            await asyncio.to_thread(link.stop, 1.0)

    async def _settle(self, grace: float) -> None:
        deadline = self._clock.monotonic() + grace
        self._idle = False
        self._wake.set()
        while self.connected and self._clock.monotonic() < deadline:
            if self._idle and not self._inflight and not self._wake.is_set():
                return
            await asyncio.sleep(0.02)

    def health(self) -> dict[str, object]:
        return {
            "connected": self.connected,
            "problem": self.problem,
            "connected_since": self.counters.connected_since,
            "last_disconnect_reason": self.counters.last_disconnect_reason,
            "inflight_batches": len(self._inflight),
            "records_sent": self.counters.records_sent,
            "records_acked": self.counters.records_acked,
            "last_ack_at": self.counters.last_ack_at,
            "backlog_lane_active": self._planner.split,
        }

    @property
    def connected(self) -> bool:
        return self._link is not None and self._link.connected

    def committed(self, records: Sequence[Record], seqs: Sequence[int]) -> None:
        """The group commit's listener: ``records`` are committed as ``seqs``; the readings lanes take them from
        memory when they directly follow what was sent (``RecentReadings``), from the store otherwise."""
        if not seqs:
            return
        try:
            self._recent.forget_through(self._worker.store.dropped_through)  # the store at its bound dropped these
            self._recent.add(records, seqs)
        except Exception as exc:  # memory must never claim what it does not hold: the store answers for these
            self._recent.forget_through(seqs[-1])
            log.error("uplink_recent_failed", error=f"{type(exc).__name__}: {exc}")
        self.notify_committed(seqs[-1])

    def notify_committed(self, last_seq: int) -> None:
        """The committer wrote records up to ``last_seq``."""
        self._last_seq = max(self._last_seq, last_seq)
        self._wake.set()

    def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish a message outside the outbox (command responses); raises LinkDown when offline."""
        if self._link is None:
            raise LinkDown("the uplink is not started")
        self._link.publish(topic, payload, retain=retain)

    # -- building the link ---------------------------------------------------------------------

    def _link_settings(self) -> MqttSettings:
        upstream = self._config.upstream
        tls = upstream.tls
        return MqttSettings(
            host=upstream.host, port=upstream.port, client_id=self._config.client_id, name="upstream",
            keepalive=self._sync.keepalive, clean_session=False, mqtt5=upstream.protocol == "5",
            tls=TlsFiles(tls.ca_file, tls.cert_file, tls.key_file, tls.verify) if tls else None,
            credentials=read_credentials(upstream.credentials_file) if upstream.credentials_file else None,
            will_topic=self.topics.status,
            will_payload=status_payload({"gateway": self._config.gateway_id, "online": False,
                                         "reason": "connection lost"}),
            max_inflight=max(self._sync.max_inflight, 1),
            endpoints=tuple(parse_endpoint(e) for e in upstream.endpoints),
            session_expiry=upstream.session_expiry, start_jitter=self._sync.start_jitter,
        )

    def _backoff(self) -> Backoff:
        return Backoff(self._sync.reconnect_min, self._sync.reconnect_max)

    def _callbacks(self) -> MqttCallbacks:
        def threadsafe(fn: Callable[..., None]) -> Callable[..., None]:
            def call(*args: Any) -> None:
                loop = self._loop
                if loop is not None and not loop.is_closed():
                    loop.call_soon_threadsafe(fn, *args)
            return call

        return MqttCallbacks(
            on_connected=threadsafe(self._on_connected),
            on_disconnected=threadsafe(self._on_disconnected),
            on_ack=threadsafe(self._on_ack),
            on_message=threadsafe(self._on_message),
        )

    # -- events from the link (event loop thread) ----------------------------------------------

    def _on_connected(self, session_present: bool) -> None:
        self.counters.connected_since = self._clock.now()
        self._publish_status()
        self._wake.set()

    def _on_disconnected(self, reason: str) -> None:
        self.counters.connected_since = None
        self.counters.last_disconnect_reason = reason

    def _on_ack(self, mid: int) -> None:
        entry = self._inflight.pop(mid, None)
        if entry is None:
            return
        self._room.set()
        self._wake.set()
        self.counters.records_acked += len(entry.seqs)
        self.counters.last_ack_at = self._clock.now()
        if self.ack_sink is not None:  # the committer writes them in its next transaction
            self.ack_sink(entry.seqs)
            return
        self._acked.extend(entry.seqs)
        if self._ack_flush is None:  # one UPDATE a second at most, whatever the PUBACK rate: fewer SD-card writes
            self._ack_flush = asyncio.get_running_loop().call_later(ACK_FLUSH_INTERVAL, self._flush_acks)

    def _flush_acks(self) -> asyncio.Task[None] | None:
        """Mark acknowledged records sent, in one transaction. A crash before it only causes re-sends."""
        self._ack_flush = None
        if not self._acked:
            return None
        seqs, self._acked = self._acked, []
        task = asyncio.get_running_loop().create_task(self._worker.call(self._worker.store.ack, seqs))
        task.add_done_callback(_log_failure)
        return task

    def _on_message(self, message: Message) -> None:
        if self.message_handler is not None:
            self.message_handler(message.topic, message.payload)
        else:
            self._early.append((message.topic, message.payload))

    def take_early_messages(self) -> list[tuple[str, bytes]]:
        """Messages received before ``message_handler`` was set (at most ``_EARLY_MESSAGES``, the newest)."""
        early = list(self._early)
        self._early.clear()
        return early

    # -- the pump ------------------------------------------------------------------------------

    async def _pump(self) -> None:
        """Never dies: a failure of one round is logged and the pump goes on after a pause."""
        while True:
            try:
                await self._pump_round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("uplink_round_failed", error=str(exc))
                await asyncio.sleep(1.0)

    async def _pump_round(self) -> None:
        while True:
            if not self.connected or len(self._inflight) >= self._sync.max_inflight:
                self._expire_stale()
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), 0.5)
                continue
            self._wake.clear()
            if await self._send_next():
                continue
            self._idle = not self._wake.is_set()
            wait = self._planner.backlog_wait(self._clock.monotonic()) or 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(wait, 1.0))

    async def _send_next(self) -> bool:
        store = self._worker.store
        now = self._clock.monotonic()
        for pick in self._planner.picks(self._last_seq, now, store.events_written):
            if pick.lane is Lane.BACKLOG and self._backlog_inflight() >= max(1, self._sync.max_inflight // 2):
                continue  # keep half the window for live data and events
            records = None if pick.lane is Lane.EVENTS else self._recent.take(pick.after, pick.limit, pick.before)
            if records is not None:
                self.counters.records_from_memory += len(records)
            else:
                records = await self._worker.call(
                    store.pending, events=pick.lane is Lane.EVENTS, after=pick.after, limit=pick.limit,
                    before=pick.before,
                )
            if not records:
                self._planner.exhausted(pick)
                continue
            return await self._publish_batch(pick, records, now)
        return False

    async def _publish_batch(self, pick: Pick, records: list[Any], now: float) -> bool:
        lane = pick.lane
        if lane is Lane.EVENTS:
            lane, records = split_reports(records)
        batch = build_batch(self._config.gateway_id, lane, records, self._batch_bytes(), self._clock.now())
        for seq in batch.oversized:
            await self._set_aside(seq, "larger than upstream.sync.batch_max_bytes")
        for seq, why in batch.unencodable:
            await self._set_aside(seq, f"cannot be encoded ({why})")
        if not batch.seqs:
            self._planner.advance(pick, max(batch.left_out), 0, now)
            return True
        assert self._link is not None
        try:
            batch, message = self._encode_within(batch, records)
        except Exception as exc:  # the contract's encoder failed on the batch: find the record(s) to blame
            await self._isolate(batch, records, exc)
            return True
        if message is None:  # one reading alone is larger than the bound in the contract's encoding
            await self._set_aside(batch.seqs[0], "larger than upstream.sync.batch_max_bytes once encoded")
            return True
        try:
            mid = self._link.publish(self.topics.for_lane(lane), message)
        except LinkDown:
            return False
        self._inflight[mid] = InFlight(lane, batch.seqs, now)
        self._planner.advance(pick, batch.seqs[-1], len(batch.seqs), now)
        if lane in (Lane.LIVE, Lane.BACKLOG):  # the backlog's cursor is the lowest of the readings' lanes
            self._recent.forget_through(self._planner.drain_cursor)
        self.counters.batches_sent += 1
        self.counters.records_sent += len(batch.seqs)
        return True

    async def _set_aside(self, seq: int, reason: str) -> None:
        """One record out of the outbox for good (counted; an event says so), so it never stops a lane."""
        store = self._worker.store
        self._recent.forget_through(seq)  # the store no longer offers it: it answers up to there
        notice = await self._worker.call(store.set_aside, seq, reason, self._clock.now(), synced=self._clock.synced())
        if notice is not None:
            self.notify_committed(notice)

    async def _isolate(self, batch: Batch, records: list[Any], error: Exception) -> None:
        carried = set(batch.seqs)
        culprits = []
        for record in records:
            if record.seq not in carried:
                continue
            try:
                self._encode(replace(batch, seqs=[record.seq]), [record])
            except Exception as exc:
                culprits.append((record.seq, f"{type(exc).__name__}: {exc}"))
        if not culprits:
            raise error
        for seq, why in culprits:
            await self._set_aside(seq, f"cannot be encoded ({why[:200]})")

    def _encode_within(self, batch: Batch, records: list[Any]) -> tuple[Batch, bytes | None]:
        """The message to publish (compressed as sent) and the batch it carries. The native batch was sized to the
        bound already; the contract's encoding (NGSI-LD entities) can be several times larger, and a broker drops a
        message above its limit after acknowledging it: the batch is cut to its first half until the message fits.
        None: one record alone does not fit."""
        limit = self._batch_bytes()
        while True:
            message = compress(self._encode(batch, records), self._sync.compression)
            if len(message) <= limit or self.batch_encoder is None or batch.lane in (Lane.EVENTS, Lane.REPORTS):
                return batch, message
            if len(batch.seqs) == 1:
                return batch, None
            batch = replace(batch, seqs=batch.seqs[:len(batch.seqs) // 2])

    def _encode(self, batch: Batch, records: list[Any]) -> bytes:
        if self.batch_encoder is None or batch.lane in (Lane.EVENTS, Lane.REPORTS):
            return batch.payload
        carried = set(batch.seqs)
        return self.batch_encoder(batch, [r for r in records if r.seq in carried])

    def _batch_bytes(self) -> int:
        """The configured bound, or less when an MQTT 5 broker announced a smaller maximum packet size."""
        announced = self._link.max_packet_size if self._link is not None else None
        if announced:
            return max(1024, min(self._sync.batch_max_bytes, int(announced) - _PACKET_OVERHEAD))
        return self._sync.batch_max_bytes

    def _backlog_inflight(self) -> int:
        return sum(1 for entry in self._inflight.values() if entry.lane is Lane.BACKLOG)

    def _expire_stale(self) -> None:
        """A batch unacknowledged for long while connected: offer everything unsent again."""
        if not self.connected or not self._inflight:
            return
        limit = 3.0 * self._sync.keepalive
        now = self._clock.monotonic()
        if all(now - entry.sent_at < limit for entry in self._inflight.values()):
            return
        log.warning("upstream_ack_timeout", inflight=len(self._inflight), seconds=limit)
        self._inflight.clear()
        self._planner.rewind()
        self._recent.forget()

    # -- status --------------------------------------------------------------------------------

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self._sync.status_interval)
            self._publish_status()

    def _status_bytes(self, *, online: bool, reason: str | None = None) -> bytes:
        fields: dict[str, Any] = {"gateway": self._config.gateway_id, "online": online}
        fields["ts"] = iso_utc(self._clock.now())
        if reason:
            fields["reason"] = reason
        fields.update(self._status_source())
        return status_payload(fields)

    def _publish_status(self) -> None:
        if self._link is None or not self._link.connected:
            return
        with contextlib.suppress(LinkDown):
            self._link.publish(self.topics.status, self._status_bytes(online=True), retain=True)


def unusable_files(exc: Exception) -> str:
    """What is wrong with the upstream credentials or TLS files, in plain words (never their contents)."""
    if isinstance(exc, ConfigError):
        return "; ".join(exc.problems)
    ssl = sys.modules.get("ssl")  # only a loaded ssl raises its errors (edge_agent/openssl_guard.py)
    if ssl is not None and isinstance(exc, ssl.SSLError):
        return f"the TLS files in [upstream.tls] cannot be used ({exc.reason or exc}); 'edge-agent doctor' checks them"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: cannot be read ({exc.strerror}); check [upstream.tls]"
    return f"the upstream TLS settings cannot be used ({exc}); check [upstream.tls]"


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("store_ack_failed", error=str(task.exception()))
