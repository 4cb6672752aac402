"""The whole pipeline on one machine: simulated devices -> the real agent process -> Mosquitto -> a subscriber.

Modbus TCP devices (a child process of pymodbus servers), one RTU bus on a socat pty pair (a child process,
paced at the bus's baud rate), LoRaWAN nodes (a ChirpStack stand-in publishing JSON uplink events), and the
agent run as ``python -m edge_agent run`` so that its CPU, memory and bytes written are its own (/proc/<pid>).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import site
from bench.alarm_latency import DEVICE as ALARM_DEVICE
from bench.alarm_latency import RULE as ALARM_RULE
from bench.alarm_latency import AlarmWatch, SwingingMeter
from bench.common import Mosquitto, io_written
from bench.deployed import agent_environment
from bench.hypervisor import Hypervisor, percentile
from bench.lora_feed import LoraFeed, devices
from bench.procs import Children, ProcSample, free_block, run_folder, sample, socat_pair, wait_port

TCP_PROFILES = ("streetlight_cabinet_4c", "eastron_sdm120")


@dataclass(frozen=True)
class Load:
    """What the gateway is asked to do."""

    tcp_devices: int = 40
    tcp_interval: float = 10.0
    rtu_units: int = 8
    rtu_interval: float = 10.0
    rtu_baud: int = 9600
    rtu_paced: bool = True
    lora_nodes: int = 500
    lora_rate: float = 500 / 600  # uplinks/s: 500 nodes every 10 minutes
    lora_warm_up: tuple[int, float] = (0, 0.0)  # every node heard this many times first, at this many uplinks/s
    store: tuple[tuple[str, Any], ...] = ()  # [store] settings over the defaults, e.g. (("synchronous", "normal"),)
    alarm_every: float = 0.0  # > 0: one more meter, polled every second, for measure_alarms (bench/alarm_latency.py)
    sync: tuple[tuple[str, Any], ...] = ()  # [upstream.sync] settings over the bench's
    tls: bool = False  # the upstream link in mutual TLS, as a commune's link to the hypervisor (bench/tls.py)

    def describe(self) -> str:
        pace = f"{self.rtu_baud} baud paced" if self.rtu_paced else "unpaced"
        return (f"{self.tcp_devices} Modbus TCP devices every {self.tcp_interval:g} s; RTU bus of {self.rtu_units} "
                f"units ({pace}) every {self.rtu_interval:g} s; {self.lora_nodes} LoRaWAN nodes, "
                f"{self.lora_rate:.2f} uplinks/s; upstream QoS 1 to Mosquitto"
                + (" over mutual TLS" if self.tls else "")
                + (f"; an alarm meter polled every second (threshold crossed every {self.alarm_every:g} s in "
                   "the alarm window)" if self.alarm_every else ""))


def _devices(load: Load, tcp_base: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"driver": "modbus", "name": f"tcp-{i:03d}", "profile": TCP_PROFILES[i % 2], "host": "127.0.0.1",
         "port": tcp_base + i, "poll_interval": load.tcp_interval} for i in range(load.tcp_devices)]
    out += [{"driver": "modbus", "name": f"rtu-{u}", "profile": "eastron_sdm120", "bus": "rs485", "unit": u,
             "poll_interval": load.rtu_interval} for u in range(1, load.rtu_units + 1)]
    for entry in devices(load.lora_nodes):
        out.append({**entry, "uplink_interval": load.lora_nodes / load.lora_rate})
    return out


class Pipeline:
    """Start with ``with Pipeline(load) as p``; ``measure(seconds)`` returns the figures of that window."""

    def __init__(self, load: Load, *, profile_to: Path | None = None) -> None:
        self.load = load
        self.profile_to = profile_to
        self.folder = run_folder("pipeline-")
        self.children = Children(self.folder)
        self.broker: Mosquitto | None = None
        self.hypervisor: Hypervisor | None = None
        self.feed: LoraFeed | None = None
        self.meter: SwingingMeter | None = None
        self.alarms: AlarmWatch | None = None
        self.agent_pid = 0

    def __enter__(self) -> Pipeline:
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        load = self.load
        self.broker = broker = Mosquitto.start(tls=load.tls)
        tcp_base = free_block(max(load.tcp_devices, 1) + 1)  # the last port for the alarm meter
        if load.tcp_devices:
            self.children.python("tcp-sim", "-m", "edge_agent.modbus.simulator", "--base-port", str(tcp_base),
                                 "--count", str(load.tcp_devices), "--profiles", ",".join(TCP_PROFILES))
        config = site.base_site(self.folder, broker.port)
        config["store"].update(dict(load.store))
        config["upstream"]["sync"].update(dict(load.sync))
        if broker.tls is not None:
            from bench.tls import upstream_tls

            config["upstream"].update(port=broker.tls_port, tls=upstream_tls(broker.tls))
        if load.rtu_units:
            agent_tty, sim_tty = socat_pair(self.folder, self.children)
            pace = ["--pace-baud", str(load.rtu_baud)] if load.rtu_paced else []
            self.children.python("rtu-sim", "-m", "bench.sim", "rtu", "--tty", sim_tty, "--count",
                                 str(load.rtu_units), *pace)
            bus = {"name": "rs485", "port": agent_tty, "baudrate": load.rtu_baud, "parity": "N"}
            config["modbus"] = {"buses": [bus]}
        if load.lora_nodes:
            config["chirpstack"] = {"port": broker.port, "client_id": "edge-agent-bench"}
        config["devices"] = _devices(load, tcp_base)
        if load.alarm_every:
            alarm_port = tcp_base + max(load.tcp_devices, 1)
            self.meter = SwingingMeter(alarm_port, load.alarm_every).start()
            config["devices"].append({"driver": "modbus", "name": ALARM_DEVICE, "profile": "eastron_sdm120",
                                      "host": "127.0.0.1", "port": alarm_port, "poll_interval": 1.0})
            config["alarms"] = [ALARM_RULE]
            self.alarms = AlarmWatch(broker.port, "fute/bench-gw")
        path = site.write(self.folder, config)
        if load.tcp_devices:
            wait_port(tcp_base + load.tcp_devices - 1)
        self.hypervisor = Hypervisor(broker.port, "fute/bench-gw/readings")
        prof = ["-m", "cProfile", "-o", str(self.profile_to)] if self.profile_to else []
        agent = self.children.python("agent", *prof, "-m", "edge_agent", "run", "--config", str(path),
                                     "--log-format", "json", env=agent_environment())
        self.agent_pid = agent.pid
        self._await_first_readings()
        if load.lora_nodes:
            self.feed = LoraFeed(broker.port, load.lora_nodes, load.lora_rate, warm_up=load.lora_warm_up).start()

    def await_warm_up(self, settle: float = 3.0) -> None:
        """Once the feed's warm-up is published (``Load.lora_warm_up``), ``settle`` seconds more for the agent to
        take the last of it. A feed a minute behind its warm-up's own time is an error."""
        rounds, rate = self.load.lora_warm_up
        timeout = 60.0 + (rounds * self.load.lora_nodes / rate if rounds and rate else 0.0)
        deadline = time.monotonic() + timeout
        while self.feed is not None and not self.feed.warmed_up:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the LoRaWAN feed's warm-up not sent in {timeout} s; see {self.folder}")
            time.sleep(0.1)
        time.sleep(settle)

    def _await_first_readings(self, timeout: float = 60.0) -> None:
        assert self.hypervisor is not None
        deadline = time.monotonic() + timeout
        while self.hypervisor.readings == 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no reading reached the subscriber in {timeout} s; see {self.folder}")
            time.sleep(0.1)

    def measure_alarms(self, seconds: float) -> dict[str, float]:
        """A window of its own: the alarm meter swings across its threshold; alarms timed at the subscriber."""
        if self.meter is None or self.alarms is None:
            return {}
        self.meter.swing()
        time.sleep(self.meter.every)
        self.alarms.reset()
        time.sleep(seconds)
        return self.alarms.figures()

    def measure(self, seconds: float, warmup: float = 2.0) -> dict[str, float]:
        assert self.hypervisor is not None
        time.sleep(warmup)
        self.hypervisor.reset()
        log = self.folder / "agent.log"
        store = self.folder / "store.db"
        checkpoint(store)  # the WAL's frames written before the window are in the file: the window's are counted below
        before, log_before, first = sample(self.agent_pid), log.stat().st_size, top_seq(store)
        others = {name: pid for name, pid in self.children.pids().items() if name != "agent"}
        others0 = {name: sample(pid) for name, pid in others.items()}
        time.sleep(seconds)
        after, log_after, last = sample(self.agent_pid), log.stat().st_size, top_seq(store)
        readings, latencies = self.hypervisor.snapshot()
        out = figures(before, after, log_after - log_before, readings, latencies)
        folded = checkpoint(store)
        row = row_bytes(store)
        # Per record committed in the window (the store's numbers), not per reading delivered: the two differ by the
        # readings of a commit at either edge, up to a quarter of a 40 s window when commits are 10 s apart.
        committed = last - first if first is not None and last is not None else readings
        if row is not None and committed:
            written = max(0, after.write_bytes - before.write_bytes - (log_after - log_before))
            out["records committed in the window"] = float(committed)
            out["SQLite bytes written per reading"] = round(written / committed, 1)
            if folded is not None:
                out["SQLite bytes written per reading, with the checkpoint of the window's WAL"] = round(
                    (written + folded) / committed, 1)
            out["row size in the store, bytes per reading"] = row
        for name, pid in others.items():  # the simulators' own load: a saturated simulator is not the agent's limit
            out[f"{name} CPU % of one core"] = round(100 * sample(pid).cpu_share(others0[name]), 1)
        return out

    def __exit__(self, *exc: object) -> None:
        if self.feed is not None:
            self.feed.stop()
        self.children.close()  # the agent (SIGTERM: writes its profile), simulators, socat
        if self.meter is not None:
            self.meter.stop()
        if self.alarms is not None:
            self.alarms.close()
        if self.hypervisor is not None:
            self.hypervisor.close()
        if self.broker is not None:
            self.broker.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def figures(before: ProcSample, after: ProcSample, log_bytes: int, readings: int,
            latencies: list[float]) -> dict[str, float]:
    elapsed = after.at - before.at
    disk = max(0, after.write_bytes - before.write_bytes - log_bytes)
    return {
        "readings/s delivered": round(readings / elapsed, 1),
        "agent CPU % of one core": round(100 * after.cpu_share(before), 1),
        "agent CPU us per reading": round(1e6 * (after.cpu_s - before.cpu_s) / max(readings, 1), 1),
        "agent RSS MB": round(after.rss_mb, 1),
        "SQLite bytes written per hour (MB)": round(disk / elapsed * 3600 / 1e6, 1),
        "latency p50 ms": round(1000 * percentile(latencies, 0.5), 1),
        "latency p99 ms": round(1000 * percentile(latencies, 0.99), 1),
        "readings measured": float(readings),
        "seconds measured": round(elapsed, 1),
    }


def checkpoint(db: Path, attempts: int = 20) -> int | None:
    """Fold the agent's WAL into its store file from this process, as the agent's own checkpoint would (every
    ``WAL_CHECKPOINT_BYTES``, rarely within a window), and return the bytes this process wrote doing it; None
    where it could not be done whole (the frames a reader still needs stay in the WAL: tried again)."""
    try:
        conn = sqlite3.connect(db, timeout=10, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        written = 0
        for _ in range(attempts):
            before = io_written() or 0
            busy, frames, folded = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            written += (io_written() or 0) - before
            if not busy and frames == folded:
                return written
            time.sleep(0.05)
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None


def top_seq(db: Path) -> int | None:
    """The last sequence number the store has committed (read-only; None where it cannot be read)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            top = conn.execute("SELECT max(seq) FROM records").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return int(top) if top is not None else None


def row_bytes(db: Path) -> float | None:
    """Bytes a reading's row takes in the store's table (cells of its leaf pages: record, rowid, cell pointer),
    read with SQLite's dbstat; None where dbstat is missing."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            used, cells = conn.execute(
                "SELECT sum(pgsize - unused), sum(ncell) FROM dbstat WHERE name = 'records' AND pagetype = 'leaf'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return round(used / cells, 1) if cells else None
