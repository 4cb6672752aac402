"""Scenario 5, peer comparison: the ThingsBoard IoT Gateway and edge-agent on the same Modbus TCP workload.

The peer (PyPI thingsboard-gateway 3.8.x) is installed by the harness into its own virtual environment,
bench/.peer-venv (git-ignored, never a dependency of ours), with pymodbus 3.9.2 pinned first (the peer
reinstalls it at import time otherwise). It runs with its SQLite storage and publishes QoS 1 to the same
Mosquitto; a small responder answers its getSessionLimits RPC in place of a ThingsBoard server.
"""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench import site
from bench.common import Mosquitto
from bench.deployed import agent_environment
from bench.hypervisor import Hypervisor
from bench.procs import Children, ProcSample, free_block, run_folder, sample, wait_port
from bench.scenario import Result
from edge_agent.modbus.profile import load_profile

VENV = Path(__file__).resolve().parent / ".peer-venv"
PEER_PIN = ["pymodbus==3.9.2", "thingsboard-gateway>=3.8,<3.9"]
PROFILE = "traffic_counter"  # 13 points: 10 in input registers 0-19, 2 holding registers, 1 coil
_TB_TYPES = {"u16": ("16uint", 1), "s16": ("16int", 1), "u32": ("32uint", 2), "s32": ("32int", 2),
             "u64": ("64uint", 4), "f32": ("32float", 2), "f64": ("64float", 4), "bit": ("16uint", 1)}
_FC = {"input": 4, "holding": 3, "coil": 1, "discrete": 2}
PIPELINE = 8  # our second run: max_in_flight of every device (the simulated servers take requests together)


def ensure_peer() -> str | None:
    """Install the peer if needed; None when ready, else why it cannot run."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import thingsboard_gateway"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return None
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
        for package in PEER_PIN:  # the pin first, alone
            subprocess.run([str(python), "-m", "pip", "install", "-q", package], check=True, capture_output=True,
                           timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"the peer could not be installed into {VENV}: {exc}"
    return None


def _timeseries() -> list[dict[str, Any]]:
    out = []
    for point in load_profile(PROFILE).points:
        tb_type, count = ("bits", 1) if point.table in ("coil", "discrete") else _TB_TYPES[point.type or "u16"]
        out.append({"tag": point.name, "type": tb_type, "functionCode": _FC[point.table], "objectsCount": count,
                    "address": point.address})
    return out


def _peer_config(folder: Path, broker: int, slaves: list[tuple[int, int]], period_ms: int) -> Path:
    package = VENV / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    defaults = package / "thingsboard_gateway" / "config"
    config = folder / "peer-config"
    config.mkdir()
    shutil.copy(defaults / "logs.json", config / "logs.json")
    main = json.loads((defaults / "tb_gateway.json").read_text())
    main["thingsboard"].update({"host": "127.0.0.1", "port": broker, "remoteConfiguration": False,
                                "security": {"type": "accessToken", "accessToken": "bench"}, "qos": 1})
    main["thingsboard"]["statistics"]["enable"] = False
    main["storage"] = {"type": "sqlite", "data_file_path": str(folder / "peer-data" / "data.db"),
                       "messages_ttl_check_in_hours": 1, "messages_ttl_in_days": 7, "max_read_records_count": 100}
    main["connectors"] = [{"type": "modbus", "name": "Modbus", "configuration": "modbus.json"}]
    (config / "tb_gateway.json").write_text(json.dumps(main, indent=1))
    devices = [{"host": "127.0.0.1", "port": port, "type": "tcp", "method": "socket", "unitId": unit,
                "deviceName": f"dev-{i:03d}", "deviceType": "default", "timeout": 2, "byteOrder": "BIG",
                "wordOrder": "BIG", "retries": 1, "pollPeriod": period_ms, "timeseries": _timeseries(),
                "attributes": [], "attributeUpdates": [], "rpc": []} for i, (port, unit) in enumerate(slaves)]
    (config / "modbus.json").write_text(json.dumps({"master": {"slaves": devices}}, indent=1))
    return config


class TbServerStandIn:
    """Answers the peer's getSessionLimits RPC (no limits) and counts the data points it publishes."""

    def __init__(self, port: int) -> None:
        self.points = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-tb-server")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, *args: object) -> None:
        client.subscribe([("v1/devices/me/rpc/request/+", 1), ("v1/gateway/telemetry", 1)])

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.startswith("v1/devices/me/rpc/request/"):
            answer = {"rateLimits": {}, "gatewayRateLimits": {}, "maxInflightMessages": 100,
                      "maxPayloadSize": 65536}
            client.publish(msg.topic.replace("request", "response"), json.dumps(answer), qos=1)
            return
        data = json.loads(msg.payload)
        points = sum(len(e.get("values", {})) for entries in data.values() for e in _entries(entries))
        with self._lock:
            self.points += points

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _entries(entries: Any) -> list[dict[str, Any]]:
    return entries if isinstance(entries, list) else [entries]


def _measure(pid: int, count: Any, warmup: float, seconds: float) -> dict[str, float]:
    """Points/s delivered (``count``'s growth over the window) and the process's CPU: for the peer, whose stand-in
    server counts points as they come, a flow without bursts."""
    time.sleep(warmup)
    before, n0 = sample(pid), count()
    time.sleep(seconds)
    after, n1 = sample(pid), count()
    return _figures((n1 - n0) / (after.at - before.at), before, after)


DELIVERY_MARGIN = 3.0  # s after the window for the readings taken in it to reach the subscription (p99 ~1 s)


def measure_ours(pid: int, hypervisor: Hypervisor, warmup: float, seconds: float) -> dict[str, float]:
    """Points/s for our agent: the readings taken in the window (their own time) that reached the hypervisor's
    subscription, by the window's length. Our agent delivers a group commit's readings together, a few times a
    second, so a count of arrivals between two instants held one commit more or fewer than the window spanned: at
    the peer workload one commit is 1.3 % of a 15 s window, and 98.7 % "delivered" showed when every second's 6,500
    readings had arrived."""
    time.sleep(warmup)
    before, start = sample(pid), time.time()
    time.sleep(seconds)
    after, end = sample(pid), time.time()
    time.sleep(DELIVERY_MARGIN)
    taken, span = hypervisor.taken_between(start, end)
    return _figures(taken / span if span else 0.0, before, after)


def _figures(rate: float, before: ProcSample, after: ProcSample) -> dict[str, float]:
    cpu = after.cpu_share(before)
    return {"points/s": round(rate, 1), "CPU %": round(100 * cpu, 1),
            "CPU us per point": round(1e6 * cpu / rate, 1) if rate else float("nan"), "RSS MB": round(after.rss_mb, 1)}


@dataclass
class Bed:
    """One comparison's test bed: its folder, child processes, broker, devices, and timing."""

    folder: Path
    children: Children
    broker: Mosquitto
    slaves: list[tuple[int, int]]  # (port, unit) of every device
    period: float
    warmup: float
    seconds: float


def _run_peer(bed: Bed) -> dict[str, float]:
    folder, children, broker, slaves, period = bed.folder, bed.children, bed.broker, bed.slaves, bed.period
    config = _peer_config(folder, broker.port, slaves, int(period * 1000))
    server = TbServerStandIn(broker.port)
    try:
        proc = children.start("peer", [str(VENV / "bin" / "python"), "-c",
                                       "from thingsboard_gateway.tb_gateway import main; main()"],
                              env={"TB_GW_CONFIG_DIR": str(config)}, cwd=folder)
        got = _measure(proc.pid, lambda: server.points, bed.warmup, bed.seconds)
        children.stop(proc)
    finally:
        server.close()
    return got


def _run_ours(bed: Bed, max_in_flight: int = 1) -> dict[str, float]:
    folder, children, broker, slaves, period = bed.folder, bed.children, bed.broker, bed.slaves, bed.period
    config = site.base_site(folder, broker.port)
    config["devices"] = [{"driver": "modbus", "name": f"dev-{i:03d}", "profile": PROFILE, "host": "127.0.0.1",
                          "port": port, "unit": unit, "poll_interval": period, "max_in_flight": max_in_flight}
                         for i, (port, unit) in enumerate(slaves)]
    path = site.write(folder, config)
    hypervisor = Hypervisor(broker.port, "fute/bench-gw/readings")
    try:
        proc = children.python("agent", "-m", "edge_agent", "run", "--config", str(path), "--log-format", "json",
                               env=agent_environment())
        got = measure_ours(proc.pid, hypervisor, bed.warmup, bed.seconds)
        children.stop(proc)
    finally:
        hypervisor.close()
    return got


def server_capacity(port: int, units: int, seconds: float = 2.0) -> float:
    """Points/s the simulated server can answer on one connection, one request at a time, to a minimal blocking
    client: the profile's plan (its reads merged as ours are) over ``units`` units in turn. The ceiling of any
    gateway polling one request at a time on that connection."""
    from edge_agent.modbus.plan import build_plan

    plan = build_plan(load_profile(PROFILE))
    reads = [(_FC[block.table], block.start, block.count) for block in plan]
    points = sum(len(block.points) for block in plan)
    done, tid, buffer = 0, 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=2.0) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            function, address, count = reads[done % len(reads)]
            tid = (tid + 1) & 0xFFFF
            sock.sendall(struct.pack(">HHHBBHH", tid, 0, 6, done // len(reads) % units + 1, function, address, count))
            while len(buffer) < 6 or len(buffer) < 6 + struct.unpack_from(">H", buffer, 4)[0]:
                buffer += sock.recv(4096)
            buffer = buffer[6 + struct.unpack_from(">H", buffer, 4)[0]:]
            done += 1
        elapsed = time.perf_counter() - start
    return round(done / elapsed * points / len(reads), 1)


def run(mode: str, devices: int = 50, period: float = 0.1) -> Result:
    asked = devices * len(load_profile(PROFILE).points) / period
    result = Result("5 peer comparison", f"{devices} devices x {len(load_profile(PROFILE).points)} points "
                    f"({PROFILE} profile) polled every {period:g} s = {asked:,.0f} points/s asked, over {devices} TCP "
                    "connections and over one shared server; SQLite storage, QoS 1 to Mosquitto on both sides",
                    "points/s delivered to the broker versus asked; CPU per point; resident memory")
    reason = ensure_peer()
    if reason is not None:
        result.skipped = reason
        return result
    warmup, seconds = {"tiny": (3.0, 3.0), "quick": (5.0, 15.0)}.get(mode, (15.0, 60.0))
    for shared in (False, True):
        _compare(result, shared, devices, (period, warmup, seconds))
    result.notes.append("CPU and memory are the gateway process's own (/proc/<pid>); the simulators run apart")
    result.notes.append(f"edge-agent runs twice: as configured by default (one request at a time per connection) and "
                        f"with max_in_flight {PIPELINE} (requests pipelined; the simulated servers take them)")
    result.notes.append("server capacity: what the simulated server answers on one connection to a minimal client "
                        "sending one request at a time, the ceiling of a gateway that does the same")
    return result


def start_servers(children: Children, devices: int, *, shared: bool, pipelining: bool) -> int:
    """The simulated servers of the peer workload, ready: one per port from the returned one (``tcp-fleet``), or
    one on it with units 1..``devices`` behind it (``shared``)."""
    base = free_block(1 if shared else devices)
    children.python("sim", "-m", "bench.sim", "tcp-shared" if shared else "tcp-fleet", "--port", str(base),
                    "--count", str(devices), "--profile", PROFILE, *(["--pipelining"] if pipelining else []))
    wait_port(base if shared else base + devices - 1)
    return base


def _compare(result: Result, shared: bool, devices: int, timing: tuple[float, float, float]) -> None:
    mode = "1 connection" if shared else f"{devices} connections"
    period = timing[0]
    folder = run_folder("peer-")
    children = Children(folder)
    broker = Mosquitto.start()
    try:
        base = start_servers(children, devices, shared=shared, pipelining=True)
        slaves = [(base, i + 1) for i in range(devices)] if shared else [(base + i, 1) for i in range(devices)]
        bed = Bed(folder, children, broker, slaves, *timing)
        capacity = server_capacity(base, devices) if shared else None
        peer = _run_peer(bed)
        ours = _run_ours(bed)
        piped = _run_ours(bed, PIPELINE)
    finally:
        children.close()
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
    asked = devices * len(load_profile(PROFILE).points) / period
    for key in ours:
        result.figures[f"{mode}: edge-agent {key}"] = ours[key]
        result.figures[f"{mode}: peer {key}"] = peer[key]
    for key, label in (("CPU us per point", "CPU us per point"), ("points/s", "points/s delivered"),
                       ("RSS MB", "resident MB")):
        result.figures[f"{mode}: {label}, edge-agent / peer"] = f"{ours[key]:,.1f} / {peer[key]:,.1f}"
    result.figures[f"{mode}: edge-agent delivered % of asked"] = round(100 * ours["points/s"] / asked, 1)
    result.figures[f"{mode}: share of asked, edge-agent / peer"] = (
        f"{ours['points/s'] / asked:.0%} / {peer['points/s'] / asked:.0%}")
    result.figures[f"{mode}: ratio points/s (ours/peer)"] = _ratio(ours["points/s"], peer["points/s"])
    result.figures[f"{mode}: ratio CPU per point (ours/peer)"] = _ratio(ours["CPU us per point"],
                                                                        peer["CPU us per point"])
    result.figures[f"{mode}: ratio RSS (ours/peer)"] = _ratio(ours["RSS MB"], peer["RSS MB"])
    label = f"edge-agent max_in_flight {PIPELINE}"
    for key in piped:
        result.figures[f"{mode}: {label} {key}"] = piped[key]
    result.figures[f"{mode}: {label}, share of asked"] = f"{piped['points/s'] / asked:.0%}"
    result.figures[f"{mode}: {label}, ratio CPU per point (ours/peer)"] = _ratio(piped["CPU us per point"],
                                                                                 peer["CPU us per point"])
    if capacity is not None:
        result.figures[f"{mode}: server capacity, one request at a time (points/s)"] = capacity


def _ratio(ours: float, peer: float) -> float:
    return round(ours / peer, 2) if peer else float("nan")
