"""Fleet simulation: hundreds of gateways' real sync code in one process, a real Mosquitto, ingest workers
writing to a real PostgreSQL. The broker restarts mid-run; the figures are the reconnect curve (connections per
second after the restart), the peak connection rate, end-to-end latency, and exactly-once landing, each with
and without jitter in the reconnect backoff.

Each gateway is the real ``UplinkSync`` (lanes, batches, QoS 1, PUBACK acks, retained status, Last Will) over the real
``MqttClient`` with its own client id and its own SQLite store in a temp directory. The replay requests of the
ingest are answered by a stand-in (``SimGateway._on_command``) that serves ``Store.history`` with the original
seqs, until the agent's own command handler answers them.

    python -m bench.fleet_bench [--gateways 200] [--seconds 20] [--dsn postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.common import cpu_seconds, env_summary, free_port, report, rss_mb
from edge_agent.backoff import FULL_JITTER, Backoff
from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.errors import LinkDown
from edge_agent.hypervisor.gaps import ReplayPolicy
from edge_agent.hypervisor.worker import IngestSettings, IngestWorker
from edge_agent.logs import set_level
from edge_agent.reading import Reading
from edge_agent.store.rows import StoredRecord
from edge_agent.store.store import Store
from edge_agent.store.worker import StoreWorker
from edge_agent.sync.lanes import Lane
from edge_agent.sync.payloads import build_batch, build_replay, response_payload
from edge_agent.sync.uplink import UplinkSync

PREFIX = "fute"
ADMIN_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class FleetOptions:
    reconnect_min: float = 0.5
    reconnect_max: float = 8.0
    jitter: bool = True
    batch_max_records: int = 200
    deflate_every: int = 0  # every n-th gateway compresses its batches (0: none)


class SimUplink(UplinkSync):
    """The real UplinkSync; only its backoff can be built without jitter, for the comparison."""

    jitter = True

    def _backoff(self) -> Backoff:
        return Backoff(self._sync.reconnect_min, self._sync.reconnect_max, spread=FULL_JITTER if self.jitter else 0.0)


class SimGateway:
    """One gateway: its store, its store thread, its UplinkSync; readings are appended by ``produce``."""

    def __init__(self, index: int, root: Path, port: int, options: FleetOptions) -> None:
        self.gateway = f"gw-{index:04d}"
        self.config = SiteConfig.model_validate({
            "gateway_id": self.gateway,
            "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603},
            "upstream": {"host": "127.0.0.1", "port": port, "topic_prefix": PREFIX, "sync": {
                "reconnect_min": options.reconnect_min, "reconnect_max": options.reconnect_max,
                "batch_max_records": options.batch_max_records, "status_interval": 2.0, "keepalive": 10,
                "compression": "deflate" if options.deflate_every and index % options.deflate_every == 0
                else "none"}},
            "store": {"path": str(root / self.gateway / "store.db"), "max_bytes": "50 MB", "synchronous": "normal"},
        })
        self.config.store.path.parent.mkdir(parents=True, exist_ok=True)
        self.store = Store.open(self.config.store)
        self.worker = StoreWorker(self.store)
        self.uplink = SimUplink(self.config, self.worker, SystemClock(assume_synced=True), self._status)
        self.uplink.jitter = options.jitter
        self.uplink.message_handler = self._on_command
        self.replays_served = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._n = 0

    def _status(self) -> dict[str, Any]:
        stats = self.store.stats()
        return {"backlog": stats.backlog, "last_seq": stats.last_seq}

    async def start(self) -> None:
        await self.uplink.start()

    async def stop(self) -> None:
        await self.uplink.stop()
        await asyncio.to_thread(self.worker.close)

    def _readings(self, count: int) -> list[Reading]:
        now = time.time()
        out = [Reading(f"meter-{(self._n + i) % 4}", "voltage", 230.0 + (self._n + i) % 7, now, "V")
               for i in range(count)]
        self._n += count
        return out

    async def produce(self, count: int, *, skip_upstream: bool = False) -> list[int]:
        """Commit ``count`` readings; with ``skip_upstream`` they are marked sent at once and never published,
        as if lost after the broker's PUBACK: only a replay can bring them to the hypervisor."""
        readings = self._readings(count)

        def commit() -> list[int]:
            seqs = self.store.append(readings)
            if skip_upstream:
                self.store.ack(seqs)
            return seqs

        seqs = await self.worker.call(commit)
        self.uplink.notify_committed(seqs[-1])
        return seqs

    async def committed(self) -> set[int]:
        last = await self.worker.call(self.store.last_seq)
        return {r.seq for r in await self.worker.call(self.store.history, 1, last, 10_000_000)}

    # -- stand-in for the agent's replay command (edge_agent.commands needs a whole Agent) -----------

    def _on_command(self, topic: str, payload: bytes) -> None:
        if topic != self.uplink.topics.commands:
            return
        try:
            body = json.loads(payload)
            request_id, args = str(body["id"]), body["args"]
            first, last = int(args["first"]), int(args["last"])
        except (ValueError, KeyError, TypeError):
            return
        if body.get("command") != "replay":
            return
        task = asyncio.get_running_loop().create_task(self._replay(request_id, first, last))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _replay(self, request_id: str, first: int, last: int) -> None:
        """As the agent's Dispatcher.replay does: the records held, on the replay topic, then one answer."""
        records = await self.worker.call(self.store.history, first, last, 10_000)
        messages = build_replay(self.gateway, request_id, records, 128_000, time.time())
        with contextlib.suppress(LinkDown):
            for body, seqs in messages:
                self.uplink.publish_raw(self.uplink.topics.replay, body)
                self.replays_served += len(seqs)
            result = {"first": first, "last": last, "count": len(records), "messages": len(messages)}
            self.uplink.publish_raw(self.uplink.topics.responses,
                                    response_payload(request_id, "replay", time.time(), result=result))


# -- PostgreSQL and the ingest ---------------------------------------------------------------------


@contextlib.contextmanager
def temp_database(admin_dsn: str = ADMIN_DSN) -> Iterator[str]:
    """A database of its own for one run, dropped afterwards; yields its DSN."""
    name = f"fleet_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_ingest(port: int, dsn: str, workers: int, policy: ReplayPolicy, scan_interval: float) -> list[IngestWorker]:
    pool = [IngestWorker(IngestSettings(host="127.0.0.1", port=port, dsn=dsn, prefix=PREFIX,
                                        client_id=f"ingest-{n + 1}", policy=policy, scan_interval=scan_interval))
            for n in range(workers)]
    for worker in pool:
        worker.start()
    return pool


def landed(dsn: str) -> tuple[dict[str, set[int]], int]:
    """The seqs in PostgreSQL per gateway, and the number of rows (a duplicate would make it exceed the sets)."""
    out: dict[str, set[int]] = {}
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT gateway, seq FROM records").fetchall()
    for gateway, seq in rows:
        out.setdefault(gateway, set()).add(int(seq))
    return out, len(rows)


def latency_ms(dsn: str, before: float) -> dict[str, float]:
    """Commit-to-PostgreSQL latency of live readings: in steady state (made before ``before``) and overall."""
    query = ("SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP"
             " (ORDER BY extract(epoch FROM received_at - ts) * 1000) FROM records"
             " WHERE lane = 'live' AND ts < to_timestamp(%s)")
    out: dict[str, float] = {}
    with psycopg.connect(dsn) as conn:
        for label, limit in (("steady", before), ("all", 4e9)):
            row = conn.execute(query, (limit,)).fetchone()
            if row is not None and row[0] is not None:
                for name, value in zip(("p50", "p95", "p99"), row[0], strict=True):
                    out[f"latency {label} {name} ms"] = float(value)
    return out


# -- the fleet -------------------------------------------------------------------------------------


@contextlib.contextmanager
def files_above(low: int) -> Iterator[None]:
    """Files opened inside get descriptors above ``low``: the stores' SQLite files (3 each) out of the sockets' way.
    Needed while the gateways' MQTT client was paho, whose select() fails on a descriptor above 1023 ("connection
    lost"); the agent's own client polls, without that limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fillers: list[int] = []
    try:
        while not fillers or fillers[-1] < low:
            fillers.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in fillers:
            os.close(fd)


class Fleet:
    """Many SimGateways in one event loop; ``run_production`` commits readings on all of them at a steady pace.
    With paho, one process held at most about 300 gateways (three descriptors each below 1024); the agent's own
    client polls, without that bound (each gateway: its socket and its client's wake pipe)."""

    def __init__(self, count: int, root: Path, port: int, options: FleetOptions) -> None:
        with files_above(1100):
            self.gateways = [SimGateway(i, root, port, options) for i in range(count)]

    async def start(self) -> None:
        for gateway in self.gateways:
            await gateway.start()

    async def stop(self) -> None:
        await asyncio.gather(*(g.stop() for g in self.gateways))

    async def run_production(self, seconds: float, per_tick: int = 5, tick: float = 0.5) -> int:
        """Every ``tick``, ``per_tick`` readings on each gateway (ticks spread over the fleet); returns the count."""
        end = time.monotonic() + seconds
        made = 0
        while time.monotonic() < end:
            began = time.monotonic()
            await asyncio.gather(*(g.produce(per_tick) for g in self.gateways))
            made += per_tick * len(self.gateways)
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - began)))
        return made

    def connected(self) -> int:
        return sum(1 for g in self.gateways if g.uplink.connected)

    def connect_times(self, after: float) -> list[float]:
        """When each gateway (re)connected last, for those that did after ``after`` (epoch seconds)."""
        return sorted(t for g in self.gateways
                      if (t := g.uplink.counters.connected_since) is not None and t >= after)

    async def committed(self) -> dict[str, set[int]]:
        return {g.gateway: await g.committed() for g in self.gateways}

    async def wait_all_landed(self, dsn: str, timeout: float) -> tuple[bool, float]:
        """Poll PostgreSQL until every committed seq of every gateway is there; (done, seconds taken)."""
        began = time.monotonic()
        want = await self.committed()
        while time.monotonic() - began < timeout:
            have, _ = await asyncio.to_thread(landed, dsn)
            if all(want[g] <= have.get(g, set()) for g in want):
                return True, time.monotonic() - began
            await asyncio.sleep(0.5)
        return False, time.monotonic() - began


def reconnect_curve(times: list[float], restart_at: float) -> dict[str, float]:
    """Connections per second after the restart: the peak one-second bucket, the spread and the percentiles."""
    if not times:
        return {"reconnected": 0.0}
    offsets = [t - restart_at for t in times]
    buckets = Counter(int(o * 4) for o in offsets)  # quarter-second buckets

    def pos(q: float) -> float:
        return offsets[min(len(offsets) - 1, int(q * len(offsets)))]

    return {"reconnected": float(len(offsets)), "first reconnect s": offsets[0], "p50 reconnect s": pos(0.5),
            "p90 reconnect s": pos(0.9), "last reconnect s": offsets[-1], "spread s": offsets[-1] - offsets[0],
            "peak connections/s (250 ms bucket x4)": 4.0 * max(buckets.values())}


# -- the run ---------------------------------------------------------------------------------------


class RestartableMosquitto:
    """A Mosquitto with persistence (sessions and queued QoS 1 survive a restart, as on a production broker)
    that can be stopped and started again on the same port. ``user root``: Mosquitto started as root otherwise
    drops to the ``mosquitto`` user and cannot write its persistence file in a private temp directory."""

    def __init__(self, workdir: Path, persistence: bool = True) -> None:
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser root\n"
            f"persistence {'true' if persistence else 'false'}\npersistence_location {workdir}/\n"
            "autosave_interval 1\nmax_queued_messages 0\nmax_inflight_messages 0\n")
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return proc
            time.sleep(0.01)
        proc.kill()
        raise RuntimeError("mosquitto did not start")

    def restart(self, pause: float) -> float:
        """Stop (SIGTERM: the session state is saved), wait ``pause`` s, start again; return when it listens."""
        self.stop()
        time.sleep(pause)
        self.proc = self._spawn()
        return time.time()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def wire_bytes(batch_sizes: tuple[int, ...] = (10, 100, 500)) -> dict[str, float]:
    """Bytes per reading of a readings batch as published (JSON) and deflated (zlib level 6), MQTT header included."""
    with tempfile.TemporaryDirectory(prefix="fleet-wire-") as tmp:
        gateway = SimGateway(0, Path(tmp), 1883, FleetOptions())
        figures: dict[str, float] = {}
        try:
            now = time.time()
            records = [Reading(f"meter-{i % 4}", ("voltage", "current", "power", "energy")[i % 4],
                               round(230.0 + (i * 7919) % 100 / 10, 1), now + i, "V") for i in range(max(batch_sizes))]
            stored = [StoredRecord(seq=1000 + i, record=r, sent=False) for i, r in enumerate(records)]
            topic = len(f"{PREFIX}/{gateway.gateway}/readings")
            for size in batch_sizes:
                payload = build_batch(gateway.gateway, Lane.LIVE, stored[:size], 1_000_000, now).payload
                header = 2 + 2 + topic + 2 + (2 if len(payload) > 127 else 0)  # fixed header, topic, packet id
                figures[f"bytes/reading JSON, batch {size}"] = (len(payload) + header) / size
                figures[f"bytes/reading deflate, batch {size}"] = (len(zlib.compress(payload)) + header) / size
        finally:
            gateway.worker.close()
    return figures


async def run_fleet(args: argparse.Namespace, jitter: bool) -> dict[str, float]:
    policy = ReplayPolicy(grace=10.0, retry_after=10.0)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="fleet-bench-", dir=".") as tmp, temp_database(args.dsn) as dsn:
        broker = RestartableMosquitto(Path(tmp), persistence=not args.no_persistence)
        ingest = start_ingest(broker.port, dsn, args.workers, policy, scan_interval=1.0)
        fleet = Fleet(args.gateways, Path(tmp), broker.port, FleetOptions(jitter=jitter))
        cpu0 = cpu_seconds()
        try:
            began = time.time()
            await fleet.start()
            while fleet.connected() < args.gateways and time.time() - began < 60:
                await asyncio.sleep(0.05)
            figures["initial: all connected in s"] = time.time() - began
            figures["initial: peak connections/s"] = reconnect_curve(fleet.connect_times(began), began)[
                "peak connections/s (250 ms bucket x4)"]
            production = asyncio.create_task(fleet.run_production(args.seconds, per_tick=args.per_tick))
            await asyncio.sleep(args.seconds / 3)
            back = await asyncio.to_thread(broker.restart, args.outage)
            await production
            while fleet.connected() < args.gateways and time.time() - back < 120:
                await asyncio.sleep(0.1)
            for key, value in reconnect_curve(fleet.connect_times(back), back).items():
                figures[f"after restart: {key}"] = value
            done, took = await fleet.wait_all_landed(dsn, timeout=90)
            want = await fleet.committed()
            have, rows = await asyncio.to_thread(landed, dsn)
            figures["readings committed"] = float(sum(len(s) for s in want.values()))
            figures["missing in PostgreSQL"] = float(sum(len(want[g] - have.get(g, set())) for g in want))
            figures["duplicate rows"] = float(rows - sum(len(s) for s in have.values()))
            figures["all landed (1 = yes)"] = float(done)
            figures["seconds to land everything after production"] = took
            figures["replay requests"] = float(sum(w.counters.replay_requests for w in ingest))
            figures["records received (dups included)"] = float(sum(w.counters.records_received for w in ingest))
            figures.update(await asyncio.to_thread(latency_ms, dsn, back - args.outage - 0.5))
            figures["cpu seconds (gateways + ingest)"] = cpu_seconds() - cpu0
            figures["rss MB"] = rss_mb()
        finally:
            await fleet.stop()
            for worker in ingest:
                await asyncio.to_thread(worker.stop)
            broker.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateways", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="ingest workers")
    parser.add_argument("--seconds", type=float, default=15.0, help="production time; the broker restarts at 1/3")
    parser.add_argument("--per-tick", type=int, default=2, help="readings per gateway every 0.5 s")
    parser.add_argument("--outage", type=float, default=3.0, help="seconds the broker stays down")
    parser.add_argument("--dsn", default=ADMIN_DSN, help="an admin DSN: a throw-away database is made beside it")
    parser.add_argument("--no-persistence", action="store_true",
                        help="the broker forgets sessions on restart: the losses are then repaired by replay")
    parser.add_argument("--no-compare", action="store_true", help="run with jitter only")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    set_level(logging.ERROR)
    report("wire: bytes per reading (MQTT PUBLISH, before TCP/TLS)", wire_bytes(), args.out)
    for jitter in (True,) if args.no_compare else (True, False):
        figures = asyncio.run(run_fleet(args, jitter))
        report(f"fleet: {args.gateways} gateways, {args.workers} ingest workers, broker down {args.outage:.0f} s, "
               f"{'no ' if args.no_persistence else ''}persistence, "
               f"backoff {'with' if jitter else 'WITHOUT'} jitter ({env_summary()})", figures, args.out)


if __name__ == "__main__":
    main()
