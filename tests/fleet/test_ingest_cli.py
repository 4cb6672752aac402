"""``edge-agent ingest run`` and ``ingest status`` as the data team runs them (docs/fleet.md), as processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from tests.support.broker import Broker
from tests.support.mqtt import publish

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "edge_agent", *args]


def _rows(dsn: str) -> int:
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM records").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row else 0


def test_ingest_run_then_status(broker: Broker, pg_dsn: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_cli("ingest", "run", "--broker", f"127.0.0.1:{broker.port}", "--dsn", pg_dsn,
                                 "--workers", "2", "--log-format", "json"),
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        records = [{"seq": s, "ts": "2026-11-28T10:00:00.000Z", "device": "m", "point": "p", "value": s}
                   for s in (1, 2, 3)]
        batch = {"v": 1, "gateway": "gw-cli", "lane": "live", "sent_at": "2026-11-28T10:00:01.000Z",
                 "records": records}
        deadline = time.monotonic() + 20
        while _rows(pg_dsn) < 3 and time.monotonic() < deadline:
            publish(broker.port, "fute/gw-cli/readings", json.dumps(batch).encode())  # again until subscribed
            publish(broker.port, "fute/gw-cli/readings", b"{not json")  # must not stop anything
            time.sleep(0.5)
        assert _rows(pg_dsn) == 3, "the batch never landed, or landed twice"
        status = subprocess.run(_cli("ingest", "status", "--dsn", pg_dsn, "--json"), cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=30, check=True)
        row = json.loads(status.stdout)[0]
        assert (row["gateway"], row["max_seq"], row["gaps_open"]) == ("gw-cli", 3, 0)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, out.decode()[-2000:]
    assert b"ingest_bad_payload" in out
