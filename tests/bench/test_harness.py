"""The benchmark harness cannot rot: its quick path runs end to end on a tiny workload and produces figures.

These check that the harness runs and what it reports is well formed, not how fast anything is.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bench.hypervisor import percentile
from bench.scenario import Result, table
from bench.sim import transaction_seconds
from bench.site import to_toml

REPO = Path(__file__).resolve().parents[2]


def test_rtu_wire_model_matches_the_field_notes() -> None:
    # A 10-register read: 8 + 25 bytes of 11-bit characters plus two 3.5-character silences, 45.8 ms at 9600 baud.
    assert transaction_seconds(10, 9600) == pytest.approx(0.0458, abs=0.0002)
    assert transaction_seconds(10, 19200) == pytest.approx(0.0458 / 2, abs=0.0002)


def test_site_toml_round_trips() -> None:
    data = {"gateway_id": "gw", "site": {"commune": "Esternay", "latitude": 48.7},
            "upstream": {"port": 1, "sync": {"reconnect_min": 0.2}},
            "devices": [{"driver": "modbus", "name": "a", "port": 5020, "poll_interval": 0.5, "x": True}]}
    assert tomllib.loads(to_toml(data)) == data


def test_percentile_and_table() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert math.isnan(percentile([], 0.5))
    shown = table([Result("x", "work", "limit", {"readings/s": 12.5}), Result("y", "w", "l", skipped="no peer")])
    assert "readings/s" in shown and "12.5" in shown and "SKIPPED: no peer" in shown


_MOSQUITTO = shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()


@pytest.mark.skipif(shutil.which("socat") is None or not _MOSQUITTO, reason="needs socat and mosquitto")
def test_tiny_run_produces_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--only", "commune,backlog,modbus",
                           "--out", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "[1 commune load]" in done.stdout and str(out) in done.stdout
    figures = {s["name"]: s["figures"] for s in json.loads(out.read_text())["scenarios"]}
    commune = figures["1 commune load"]
    assert commune["readings/s delivered"] > 0
    assert commune["agent RSS MB"] > 0
    assert 0 < commune["latency p50 ms"] <= commune["latency p99 ms"]
    assert figures["3 backlog drain"]["backlog readings/s delivered"] > 0
    modbus = figures["4 Modbus efficiency"]
    merged, naive = (modbus[f"eastron_sdm120: requests per poll ({how})"] for how in ("merged", "one per point"))
    assert merged < naive
    assert modbus["RTU 9600 baud: polls/s measured"] > 0


STANDALONE = [
    ("store_bench", ["--readings", "2000"], "readings/s committed"),
    ("drain_bench", ["--readings", "2000"], "left in outbox after stop"),
    ("modbus_bench", ["--devices", "3", "--seconds", "2"], "naive one-per-point poller"),
    ("lorawan_bench", ["--uplinks", "40", "--devices", "4"], "uplinks_per_s"),
    ("report_bench", ["--nights", "2", "--no-noise", "--repeat", "1"], "energy report, ms (in process)"),
    ("store_cache", ["--cycles", "20", "--rounds", "1"], "resident MB added"),
]


@pytest.mark.skipif(not _MOSQUITTO, reason="needs mosquitto")
@pytest.mark.parametrize(("module", "args", "figure"), STANDALONE, ids=[m for m, _, _ in STANDALONE])
def test_standalone_benchmarks_run_on_a_tiny_workload(module: str, args: list[str], figure: str) -> None:
    """Each benchmark named in docs/performance.md runs from a fresh clone (a config rule added later once broke
    one of them unnoticed); the figures' values are not judged here."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", f"bench.{module}", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert figure in done.stdout, done.stdout[-3000:]


@pytest.mark.skipif(shutil.which("socat") is None or not _MOSQUITTO, reason="needs socat and mosquitto")
def test_tiny_footprint_run_produces_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--only", "footprint", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())["scenarios"][0]["figures"]
    assert figures["daemon RSS MB at commune load (end)"] > 0
    assert math.isfinite(figures["daemon RSS slope MB/h"])
    for command in ("--help", "status --help", "status", "queue", "points", "config check", "decode"):
        assert figures[f"CLI {command}: wall ms median"] > 0
        assert figures[f"CLI {command}: peak RSS MB"] > 0
    assert figures["run -> READY s median"] > 0
