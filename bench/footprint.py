"""Scenario 6, footprint: what the agent costs a Pi-class gateway in memory and in waiting.

Three measures, each on real processes (``python -m edge_agent``) and read from /proc or the kernel's rusage:

- the daemon's resident memory at commune load (the commune scenario's pipeline), sampled every second over the
  window, and its slope: a leak shows as a steady climb. The window starts once every device has been heard: each
  LoRaWAN node once (a first round of uplinks at 50 a second; in full mode, ten rounds at 10 a second, the signal
  view's depth), then a poll cycle, as on a gateway that has run for a while;
- each technician command that does not talk to a device (``--help``, ``status --help``, ``status``, ``queue``,
  ``points``, ``config check``, ``decode``) on a commune-sized site whose agent is stopped (status, queue and
  points read the store offline): the median wall time of repeated runs and the highest peak resident memory;
- ``edge-agent run`` from exec to READY=1 on $NOTIFY_SOCKET (what systemd waits for), and its memory then.

``python -m bench.footprint`` runs it alone; ``--tiny`` is the harness's smoke run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import site
from bench.common import Mosquitto
from bench.commune import COMMUNE, TINY
from bench.deployed import agent_environment
from bench.lora_feed import devices as lora_devices
from bench.pipeline import Pipeline
from bench.procs import REPO, memory_split, run_folder, sample
from bench.scenario import Result, table
from edge_agent.config.compiled import SUFFIX as COMPILED_SUFFIX
from edge_agent.config.store import StoreConfig
from edge_agent.lorawan.uplinks import RECENT_UPLINKS
from edge_agent.modbus.profile import load_profile
from edge_agent.reading import Reading
from edge_agent.store.store import Store

TCP_PROFILES = ("streetlight_cabinet_4c", "eastron_sdm120")
DECODE = ("decode", "--driver", "dragino_ldds75", "--fport", "2", "--hex", "0d0a07e900000001")


def commands(config: Path) -> dict[str, list[str]]:
    """The technician's commands that answer without a device: name shown -> arguments."""
    at = ["--config", str(config)]
    return {"--help": ["--help"], "status --help": ["status", "--help"], "status": ["status", *at],
            "queue": ["queue", *at], "points": ["points", *at], "config check": ["config", "check", str(config)],
            "decode": list(DECODE)}


def commune_site(folder: Path, broker_port: int, *, tcp_devices: int = 40, lora_nodes: int = 500) -> Path:
    """A commune's site config (Modbus TCP cabinets and meters, LoRaWAN nodes through ChirpStack's JSON events)
    and a store holding a day's worth of their last readings, as a stopped agent leaves it."""
    config = site.base_site(folder, broker_port)
    config["chirpstack"] = {"port": broker_port, "client_id": "edge-agent-footprint"}
    tcp = [{"driver": "modbus", "name": f"tcp-{i:03d}", "profile": TCP_PROFILES[i % 2], "host": "127.0.0.1",
            "port": 1502, "unit": i + 1, "poll_interval": 10.0} for i in range(tcp_devices)]
    config["devices"] = tcp + lora_devices(lora_nodes)
    path = site.write(folder, config)
    store = Store.open(StoreConfig(path=folder / "store.db", max_bytes=2_000_000_000))
    try:
        now = time.time()
        for device in tcp:
            points = load_profile(str(device["profile"])).points
            for cycle in range(24):
                store.append([Reading(str(device["name"]), point.name, 230.0 + cycle, now - 3600 * cycle, point.unit)
                              for point in points])
    finally:
        store.close()
    return path


# A small parent for each timed command: a child's peak RSS (ru_maxrss) also counts the memory of the process it
# was forked from, so the bench process itself (tens of MB) must not be that parent.
_LAUNCHER = """
import os, sys, time
began = time.monotonic()
pid = os.fork()
if pid == 0:
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
print(time.monotonic() - began, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_command(args: list[str]) -> tuple[float, float, int]:
    """One ``python -m edge_agent ARGS``: wall seconds (fork to exit), peak resident MB, exit code."""
    done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, sys.executable, "-m", "edge_agent", *args],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=REPO, check=True)
    wall, max_kb, code = done.stdout.split()[-3:]
    return float(wall), int(max_kb) / 1024, int(code)


def cli_figures(config: Path, repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # The first command after the config changed has it checked by a pydantic process, which writes the compiled
    # form beside the store (edge_agent/config/compiled.py): measured once, apart; then each command after a
    # warm-up run, as every run but the first after an edit.
    (config.parent / f"store.db{COMPILED_SUFFIX}").unlink(missing_ok=True)
    wall, rss, code = run_command(commands(config)["status"])
    if code != 0:
        raise RuntimeError(f"edge-agent status --config {config} exited with {code}")
    out["CLI status, first after a config change: wall ms"] = round(1000 * wall, 1)
    out["CLI status, first after a config change: peak RSS MB"] = round(rss, 1)
    for name, args in commands(config).items():
        run_command(args)
        runs = [run_command(args) for _ in range(repeats)]
        codes = {code for _, _, code in runs}
        if codes != {0}:
            raise RuntimeError(f"edge-agent {' '.join(args)} exited with {sorted(codes)}")
        out[f"CLI {name}: wall ms median"] = round(1000 * statistics.median(w for w, _, _ in runs), 1)
        out[f"CLI {name}: peak RSS MB"] = round(max(m for _, m, _ in runs), 1)
    return out


def time_to_ready(config: Path, folder: Path) -> tuple[float, float]:
    """Seconds from exec to READY=1, and the agent's resident MB then; the agent is stopped afterwards."""
    address = str(folder / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(address)
        notify.settimeout(30.0)
        env = {**os.environ, **agent_environment(), "NOTIFY_SOCKET": address}  # as the unit starts it
        log = open(folder / "agent-ready.log", "ab")  # noqa: SIM115 - the child keeps it
        began = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "edge_agent", "run", "--config", str(config), "--log-format",
                                 "json"], stdout=log, stderr=log, env=env, cwd=REPO)
        log.close()
        try:
            while b"READY=1" not in notify.recv(4096):
                pass
            ready = time.monotonic() - began
            rss = sample(proc.pid).rss_mb
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    os.unlink(address)
    return ready, rss


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    if len(points) < 2:
        return float("nan")
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 3600 * sum((x - mx) * (y - my) for x, y in points) / var if var else float("nan")


# Before the window, each LoRaWAN node heard once in a first round at 50 uplinks/s (10 s for the commune's 500
# nodes, where the nominal rate takes 10 minutes): their last values, tracks and codec state, about 2 MB, which a
# window opened earlier missed. The full mode goes on to the signal view's depth (RECENT_UPLINKS rounds) at 10
# uplinks/s. Faster warm-ups leave their own high-water mark: six rounds at 100/s read 1.4 MB above six at the
# nominal rate (docs/performance.md).
WARM_UP = {"tiny": (1, 50.0), "quick": (1, 50.0)}


def daemon_figures(mode: str, *, tls: bool = False) -> dict[str, Any]:
    load = replace(TINY if mode == "tiny" else COMMUNE, tls=tls, lora_warm_up=WARM_UP.get(mode, (RECENT_UPLINKS, 10.0)))
    seconds = {"tiny": 3.0, "quick": 60.0}.get(mode, 600.0)
    with Pipeline(load) as pipeline:
        pipeline.await_warm_up()
        time.sleep(load.tcp_interval)  # and one full poll cycle after it
        began = time.monotonic()
        samples: list[tuple[float, float]] = []
        while True:
            now = time.monotonic()
            samples.append((now - began, sample(pipeline.agent_pid).rss_mb))
            if now - began >= seconds:
                break
            time.sleep(1.0)
        split = memory_split(pipeline.agent_pid)
    rss = [mb for _, mb in samples]
    split_figures = {"PSS (end)": round(split["pss"], 1), "private (end)": round(split["private"], 1),
                     "shared with other processes (end)": round(split["shared"], 1)}
    # The first minutes still fill caches (SQLite's page cache, the allocator's pools): the second half says more.
    second_half = [(at, mb) for at, mb in samples if at >= seconds / 2]
    if tls:
        return {"daemon RSS MB at commune load, upstream over mutual TLS (end)": round(rss[-1], 1),
                "daemon RSS MB max, upstream over mutual TLS": round(max(rss), 1),
                **{f"daemon MB, upstream over mutual TLS: {key}": mb for key, mb in split_figures.items()}}
    return {"daemon RSS MB at commune load (end)": round(rss[-1], 1), "daemon RSS MB max": round(max(rss), 1),
            **{f"daemon MB: {key}": mb for key, mb in split_figures.items()},
            "daemon RSS slope MB/h": round(slope_per_hour(samples), 2),
            "daemon RSS slope MB/h, second half": round(slope_per_hour(second_half), 2),
            "daemon RSS window s": round(seconds, 1)}


def compile_bytecode() -> None:
    """Compile the package's bytecode, as pip does when a gateway installs the wheel: a checkout run with
    PYTHONDONTWRITEBYTECODE (or edited since its last run) would compile its changed modules in every command."""
    import edge_agent

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(edge_agent.__file__).parent)], check=True,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})


def run(mode: str) -> Result:
    repeats = {"tiny": 1, "quick": 5}.get(mode, 15)
    result = Result(
        "6 footprint",
        "the daemon at commune load (as in scenario 1, each LoRaWAN node heard before the window); the "
        "technician's commands on a commune-sized site "
        f"(40 Modbus TCP, 500 LoRaWAN nodes), agent stopped, {repeats} runs each; run -> READY",
        "daemon <= 35 MB resident and flat; each command <= 0.25 s wall and <= 30 MB; READY <= 1 s",
    )
    compile_bytecode()
    result.figures.update(daemon_figures(mode))
    result.figures.update(daemon_figures(mode, tls=True))  # OpenSSL loaded (edge_agent/openssl_guard.py)
    folder = run_folder("footprint-")
    broker = Mosquitto.start()
    try:
        config = commune_site(folder, broker.port, **({"tcp_devices": 4, "lora_nodes": 20} if mode == "tiny" else {}))
        result.figures.update(cli_figures(config, repeats))
        ready = [time_to_ready(config, folder) for _ in range(max(1, repeats // 2))]
        result.figures["run -> READY s median"] = round(statistics.median(r for r, _ in ready), 2)
        result.figures["RSS MB at READY"] = round(max(m for _, m in ready), 1)
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
    result.notes.append("wall time from fork to exit (python -m edge_agent, this interpreter, the package's bytecode "
                        "compiled first as a wheel's install does); peak RSS is the child's ru_maxrss; the daemon's "
                        "RSS is VmRSS of /proc/<agent>/status sampled every second; the daemon runs in its unit's "
                        "environment (optimised bytecode compiled first as the installer does: bench/deployed.py)")
    result.notes.append(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.footprint", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help="a ten-minute window, 15 runs of each command")
    group.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    args = parser.parse_args(argv)
    print(table([run("full" if args.full else "tiny" if args.tiny else "quick")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
