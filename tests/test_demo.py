"""`edge-agent demo`: a newcomer sees readings flow within seconds; without a broker it buffers and says so."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from edge_agent import resources
from tests.support.broker import Broker
from tests.support.ports import free_port
from tests.support.site import demo_site_text


def demo_config(tmp_path: Path, host: str, port: int) -> Path:
    path = tmp_path / "demo.toml"
    path.write_text(demo_site_text(resources.bundled_config("demo").read_text(), host, port))
    return path


def run_demo(config: Path, state: Path, seconds: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", "demo", "--config", str(config), "--duration", str(seconds),
         "--state-dir", str(state)],
        capture_output=True, text=True, timeout=120,
    )


def test_demo_shows_readings_reaching_the_broker(tmp_path: Path, broker: Broker) -> None:
    result = run_demo(demo_config(tmp_path, "127.0.0.1", broker.port), tmp_path / "state", 6)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("readings") for line in lines), result.stdout
    assert any("status  online" in line for line in lines)
    assert any("counter-halle" in line for line in lines), "LoRaWAN uplinks should reach the hypervisor too"
    assert all(len(line) <= 80 for line in lines if line.startswith(("readings", "events", "status"))), lines
    summary = lines[-1]
    acked = int(re.search(r"(\d+) acknowledged", summary).group(1))  # type: ignore[union-attr]
    committed = int(re.search(r"(\d+) records committed", summary).group(1))  # type: ignore[union-attr]
    assert acked > 5 and acked <= committed


def test_demo_without_a_broker_buffers_and_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = run_demo(demo_config(tmp_path, "127.0.0.2", free_port()), state, 4)
    assert result.returncode == 0, result.stderr
    assert "no MQTT broker" in result.stdout and "kept in the store" in result.stdout
    pending = sqlite3.connect(state / "store.db").execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert pending > 5, "readings must be buffered in the store while no broker is reachable"
