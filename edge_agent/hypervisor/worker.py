"""One ingest worker: a shared subscription in, batched PostgreSQL transactions out, PUBACK only after commit.

Three threads: the MQTT client's network thread puts messages in a bounded queue (it blocks when the queue is full,
which holds the broker back: nothing is acknowledged before it is committed); the writer commits groups of messages and
then acknowledges them; the scanner (one worker of the group at a time, by an advisory lock) refreshes the gaps and
sends replay requests.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from edge_agent.backoff import Backoff
from edge_agent.errors import LinkDown
from edge_agent.frozen import frozen
from edge_agent.hypervisor import db
from edge_agent.hypervisor.gaps import Gap, ReplayPolicy, decide
from edge_agent.hypervisor.migrate import apply_migrations
from edge_agent.hypervisor.wire import (
    BadPayload,
    IncomingBatch,
    ReplayAnswer,
    decode_batch,
    decode_response,
    decode_status,
    replay_request,
    topic_gateway,
)
from edge_agent.logs import get_logger
from edge_agent.mqtt_client import Message, MqttCallbacks, MqttClient, MqttSettings, TlsFiles
from edge_agent.sync.credentials import Credentials

log = get_logger(__name__)


@frozen
class IngestSettings:
    host: str
    port: int
    dsn: str
    prefix: str = "fute"
    group: str = "ingest"
    client_id: str = "ingest-1"
    queue_max: int = 5000
    group_max: int = 500
    session_expiry: int = 86_400
    replay_expiry: int = 300
    scan_interval: float = 5.0
    policy: ReplayPolicy = field(default_factory=ReplayPolicy)
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # TLS when set (server verified against it)
    cert_file: str | None = None
    key_file: str | None = None


@dataclass
class IngestCounters:
    messages: int = 0
    rows_inserted: int = 0
    records_received: int = 0
    bad_payloads: int = 0
    db_errors: int = 0
    replay_requests: int = 0
    gaps_abandoned: int = 0


RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0
MAX_QUEUED = 1000  # replay requests held while the broker is away (each expires anyway)


class IngestWorker:
    """Constructors do no I/O; ``start`` migrates the schema, connects and subscribes."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.counters = IngestCounters()
        self._queue: queue.Queue[Message] = queue.Queue(maxsize=settings.queue_max)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client = self._make_client()

    def _make_client(self) -> MqttClient:
        s = self.settings
        p, g = s.prefix, s.group
        options = MqttSettings(
            host=s.host, port=s.port, client_id=s.client_id, name="ingest", keepalive=30, mqtt5=True,
            clean_session=False, session_expiry=s.session_expiry, manual_ack=True, max_queued=MAX_QUEUED,
            credentials=Credentials(s.username, s.password or "") if s.username else None,
            tls=TlsFiles(Path(s.ca_file), _path(s.cert_file), _path(s.key_file), verify=True) if s.ca_file else None,
        )
        client = MqttClient(options, MqttCallbacks(on_message=self._on_message),
                            Backoff(RECONNECT_MIN_S, RECONNECT_MAX_S))
        for kind in ("readings", "events", "reports", "replay", "responses"):
            client.subscribe(f"$share/{g}/{p}/+/{kind}", 1)
        client.subscribe(f"{p}/+/status", 1)  # status unshared: retained, and every worker may see it
        return client

    def start(self) -> None:
        with psycopg.connect(self.settings.dsn, autocommit=True) as conn:
            apply_migrations(conn)
        self._client.start(f"ingest-mqtt-{self.settings.client_id}")
        for target, name in ((self._write_loop, "ingest-writer"), (self._scan_loop, "ingest-scanner")):
            thread = threading.Thread(target=target, name=f"{name}-{self.settings.client_id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(5.0)
        self._client.stop(5.0)

    # -- MQTT (the client's network thread) ----------------------------------------------------

    def _on_message(self, message: Message) -> None:
        while not self._stopping.is_set():
            try:
                self._queue.put(message, timeout=0.5)
                return
            except queue.Full:
                continue

    # -- the writer ----------------------------------------------------------------------------

    def _take(self) -> list[Message]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        taken = [first]
        while len(taken) < self.settings.group_max:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return taken

    def _write_loop(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        pending: list[Message] = []
        while not self._stopping.is_set() or pending:
            pending = pending or self._take()
            if not pending:
                continue
            try:
                conn = conn if conn is not None and not conn.closed else psycopg.connect(self.settings.dsn,
                                                                                        autocommit=True)
                self._commit(conn, pending)
            except psycopg.Error as exc:
                self.counters.db_errors += 1
                log.error("ingest_db_error", error=str(exc).strip(), client_id=self.settings.client_id)
                conn = None
                if self._stopping.wait(1.0):
                    return
                continue
            for message in pending:
                self._client.ack(message)
            pending = []
        if conn is not None:
            conn.close()

    def _commit(self, conn: psycopg.Connection[Any], messages: list[Message]) -> None:
        batches: list[IncomingBatch] = []
        for message in messages:
            try:
                gateway, kind = topic_gateway(message.topic)
                if kind == "status":
                    db.write_status(conn, decode_status(gateway, message.payload))
                elif kind == "responses":
                    self._on_answer(conn, decode_response(gateway, message.payload))
                else:
                    batches.append(decode_batch(gateway, message.payload))
            except BadPayload as exc:
                self.counters.bad_payloads += 1
                log.warning("ingest_bad_payload", topic=message.topic, error=str(exc))
        inserted = db.write_batches(conn, batches)
        self.counters.messages += len(messages)
        self.counters.records_received += sum(len(b.records) for b in batches)
        self.counters.rows_inserted += inserted

    def _on_answer(self, conn: psycopg.Connection[Any], answer: ReplayAnswer | None) -> None:
        if answer is None:
            return
        if not answer.ok:
            log.warning("ingest_replay_refused", gateway=answer.gateway, id=answer.request_id, error=answer.error)
        elif answer.count and answer.first is not None and answer.last is not None:
            db.replay_progressed(conn, answer.gateway, answer.first, answer.last)
        elif answer.count == 0 and answer.first is not None and answer.last is not None:
            gone = db.abandon_range(conn, answer.gateway, answer.first, answer.last)
            self.counters.gaps_abandoned += gone
            if gone:
                log.error("ingest_gap_abandoned", gateway=answer.gateway, first=answer.first, last=answer.last,
                          reason="the gateway no longer holds these records")

    # -- the scanner ---------------------------------------------------------------------------

    def _scan_loop(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while not self._stopping.wait(self.settings.scan_interval):
            try:
                conn = conn if conn is not None and not conn.closed else psycopg.connect(self.settings.dsn,
                                                                                        autocommit=True)
                self.scan_once(conn, time.time())
            except psycopg.Error as exc:
                log.error("ingest_scan_db_error", error=str(exc).strip())
                conn = None
        if conn is not None:
            conn.close()

    def scan_once(self, conn: psycopg.Connection[Any], now: float) -> None:
        """If no other worker is scanning: refresh every gateway's gaps (one short transaction each, so the
        writers are never held up long), then ask for replays and give up on hopeless gaps."""
        if not db.try_scan_lock(conn):
            return
        try:
            gaps: list[Gap] = []
            busy: set[str] = set()
            for state in db.gateways_to_scan(conn):
                if state[4]:
                    busy.add(state[0])
                with conn.transaction():
                    gaps.extend(db.scan_gateway(conn, state, now))
            decision = decide(gaps, now, self.settings.policy, busy)
            with conn.transaction():
                db.mark_requested(conn, decision.request, now)
                db.mark_abandoned(conn, decision.abandon)
        finally:
            db.scan_unlock(conn)
        for gap in decision.request:
            self._request_replay(gap.gateway, gap.first, gap.last, gap.attempts, now)
        self.counters.replay_requests += len(decision.request)
        self.counters.gaps_abandoned += len(decision.abandon)
        for gap in decision.abandon:
            log.error("ingest_gap_abandoned", gateway=gap.gateway, first=gap.first, last=gap.last,
                      attempts=gap.attempts)

    def _request_replay(self, gateway: str, first: int, last: int, attempts: int, now: float) -> None:
        topic, payload = replay_request(self.settings.prefix, gateway, first, last,
                                        request_id=uuid.uuid4().hex, now=now)
        try:  # a request nobody took in time is dropped by the broker
            self._client.publish(topic, payload, qos=1, expiry=self.settings.replay_expiry)
        except LinkDown as exc:  # asked again at a later scan
            log.warning("ingest_replay_not_sent", gateway=gateway, first=first, last=last, error=str(exc))
            return
        log.info("ingest_replay_requested", gateway=gateway, first=first, last=last, attempt=attempts + 1)



def _path(name: str | None) -> Path | None:
    return Path(name) if name else None
