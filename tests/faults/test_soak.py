"""Soak: the real agent at ten times a commune's nominal load for ``--soak-seconds`` (120 s by default).

A commune's nominal load, as this suite counts it: 20 Modbus devices (cabinets, meters, counters) polled every
10 s and a few LoRaWAN sensors each reporting every few minutes. Ten times that: the same 20 Modbus TCP devices
(real pymodbus servers) polled every second, and ChirpStack uplinks at one a second, syncing to a real Mosquitto.
Every 5 s the test samples the agent's resident memory, its open file descriptors and its outbox. The promise:
no leak (memory and descriptors flat after warm-up), the outbox does not grow, and every record is delivered.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from tests.faults import figures
from tests.faults.rig import audit, running_rig, store_seqs
from tests.support.agent_proc import store_rows, wait_until

SAMPLE_EVERY = 5.0
WARM_UP = 20.0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def test_soak_at_ten_times_nominal_load_shows_no_leak_and_no_growing_outbox(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Promise: at 10x a commune's load, the agent's memory and file descriptors stay flat after warm-up, its
    outbox stays small, and every committed record reaches the hypervisor."""
    seconds = float(request.config.getoption("--soak-seconds"))
    samples: list[dict[str, float]] = []
    with running_rig(tmp_path, modbus_devices=20, feeder_rate=1.0, modbus_poll=1.0) as rig:
        db, capture = rig.db, rig.capture
        assert rig.agent.proc is not None
        pid = rig.agent.proc.pid
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            time.sleep(SAMPLE_EVERY)
            outbox = store_rows(db, "SELECT count(*) FROM records WHERE sent=0")[0][0]
            samples.append({"t": round(time.monotonic() - began, 1), "rss_kib": _rss_kib(pid), "fds": _fds(pid),
                            "outbox": int(outbox), "committed": len(store_seqs(db))})  # type: ignore[call-overload]
        rig.feeder.stop()
        wait_until(lambda: store_seqs(db) <= {int(r["seq"]) for _, r in capture.records()}, timeout=30,
                   what="everything delivered at the end of the soak")
        rig.agent.terminate()
        time.sleep(0.5)
        result = audit(capture, db, fault_times=[], produced=rig.feeder.produced)
    steady = [s for s in samples if s["t"] >= WARM_UP] or samples
    third = max(1, len(steady) // 3)
    rss_growth_kib = statistics.median(s["rss_kib"] for s in steady[-third:]) - statistics.median(
        s["rss_kib"] for s in steady[:third])
    fd_spread = max(s["fds"] for s in steady) - min(s["fds"] for s in steady)
    rate = samples[-1]["committed"] / samples[-1]["t"]
    figures.record("soak at 10x nominal load", promise="no leak, no growing outbox, everything delivered",
                   faults=0, checked=result.committed, lost=len(result.lost), duplicated=result.duplicated,
                   seconds=seconds, records_per_s=round(rate, 1), rss_growth_kib=rss_growth_kib,
                   fd_spread=fd_spread, max_outbox=max(s["outbox"] for s in steady), samples=samples)
    assert not result.failures(), "PROMISE BROKEN: " + "; ".join(result.failures())
    assert rate > 200, f"the load is not ten times nominal: {rate:.0f} records/s"
    assert rss_growth_kib < 16 * 1024, f"PROMISE BROKEN: memory grew {rss_growth_kib} KiB after warm-up"
    assert fd_spread <= 4, f"PROMISE BROKEN: file descriptors vary by {fd_spread}: {[s['fds'] for s in steady]}"
    assert max(s["outbox"] for s in steady[-third:]) < 5 * rate, "PROMISE BROKEN: the outbox keeps growing"
