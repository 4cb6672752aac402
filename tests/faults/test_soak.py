"""Soak: the real agent at ten times a commune's nominal load for ``--soak-seconds`` (120 s by default; an hour
with ``--soak-seconds 3600``, recorded as its own row).

A commune's nominal load, as this suite counts it: 20 Modbus devices (cabinets, meters, counters) polled every
10 s and a few LoRaWAN sensors each reporting every few minutes. Ten times that: the same 20 Modbus TCP devices
(real pymodbus servers) polled every second, and ChirpStack uplinks at one a second, syncing to a real Mosquitto.
Every 5 s the test samples the agent's resident memory, its open file descriptors, its outbox and the size of its
store. The promise: no leak (memory and descriptors flat after warm-up: the memory slope of the last third of the
run is small, whatever the first minutes did), the outbox does not grow, and every record is delivered.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from edge_agent.store.group_commit import ACK_EVERY
from tests.faults import figures
from tests.faults.rig import audit, running_rig
from tests.support.agent_proc import store_rows, wait_until

SAMPLE_EVERY = 5.0
WARM_UP = 20.0
LONG = 1800.0  # from this length on, the run is recorded as the long soak, beside the short one
LEVELLED_KIB_PER_H = 2048.0  # the last third's memory slope under which growth has levelled off


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def _store_bytes(db: Path) -> int:
    return sum(Path(f"{db}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{db}{suffix}").exists())


def slope_per_hour(samples: list[dict[str, float]], key: str) -> float:
    """Least-squares slope of ``key`` against time, per hour (0 with fewer than two samples)."""
    if len(samples) < 2:
        return 0.0
    ts = [s["t"] for s in samples]
    ys = [s[key] for s in samples]
    mean_t, mean_y = statistics.fmean(ts), statistics.fmean(ys)
    spread = sum((t - mean_t) ** 2 for t in ts)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True)) / spread * 3600.0


@pytest.mark.lasts("--soak-seconds", factor=1.2)
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
        # The window opens at the agent's first commit, however long its start took on a loaded machine.
        wait_until(lambda: db.exists() and store_rows(db, "SELECT seq FROM records LIMIT 1"),
                   timeout=60, what="the agent's first commit")
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            time.sleep(SAMPLE_EVERY)
            outbox = store_rows(db, "SELECT count(*) FROM outbox")[0][0]
            last = store_rows(db, "SELECT max(seq) FROM records")[0][0]
            samples.append({"t": round(time.monotonic() - began, 1), "rss_kib": _rss_kib(pid), "fds": _fds(pid),
                            "outbox": int(outbox), "committed": int(last),  # type: ignore[call-overload]
                            "store_kib": _store_bytes(db) // 1024})
        rig.feeder.stop()
        top = samples[-1]["committed"]
        wait_until(lambda: not store_rows(db, "SELECT 1 FROM outbox WHERE seq<=? LIMIT 1", (top,)),
                   timeout=30, what="everything delivered at the end of the soak")
        rig.agent.terminate()
        time.sleep(0.5)
        result = audit(capture, db, fault_times=[], produced=rig.feeder.produced)
    steady = [s for s in samples if s["t"] >= WARM_UP] or samples
    third = max(1, len(steady) // 3)
    rss_growth_kib = statistics.median(s["rss_kib"] for s in steady[-third:]) - statistics.median(
        s["rss_kib"] for s in steady[:third])
    fd_spread = max(s["fds"] for s in steady) - min(s["fds"] for s in steady)
    rate = samples[-1]["committed"] / samples[-1]["t"]
    first_slope = slope_per_hour(steady[:third], "rss_kib")
    last_slope = slope_per_hour(steady[-third:], "rss_kib")
    long = seconds >= LONG
    figures.record("soak for an hour at 10x nominal load" if long else "soak at 10x nominal load",
                   promise="no leak, no growing outbox, everything delivered",
                   faults=0, checked=result.committed, lost=len(result.lost), duplicated=result.duplicated,
                   seconds=seconds, records_per_s=round(rate, 1), rss_growth_kib=rss_growth_kib,
                   rss_slope_kib_per_h=round(slope_per_hour(steady, "rss_kib")),
                   rss_slope_first_third_kib_per_h=round(first_slope),
                   rss_slope_last_third_kib_per_h=round(last_slope),
                   levels_off=long and last_slope < LEVELLED_KIB_PER_H,
                   fds=f"{min(s['fds'] for s in steady)}..{max(s['fds'] for s in steady)}", fd_spread=fd_spread,
                   max_outbox=max(s["outbox"] for s in steady), samples=samples)
    assert not result.failures(), "PROMISE BROKEN: " + "; ".join(result.failures())
    assert rate > 200, f"the load is not ten times nominal: {rate:.0f} records/s"
    assert rss_growth_kib < 16 * 1024, f"PROMISE BROKEN: memory grew {rss_growth_kib} KiB after warm-up"
    assert fd_spread <= 4, f"PROMISE BROKEN: file descriptors vary by {fd_spread}: {[s['fds'] for s in steady]}"
    # Read from the file, the outbox also holds what the broker acknowledged but the group commit marks only every
    # ACK_EVERY seconds: five seconds of records beyond that is a backlog.
    late_outbox = max(s["outbox"] for s in steady[-third:])
    assert late_outbox < (ACK_EVERY + 5) * rate, "PROMISE BROKEN: the outbox keeps growing"
    if long:
        assert last_slope < LEVELLED_KIB_PER_H, (
            f"PROMISE BROKEN: memory still grows {last_slope:.0f} KiB/h over the last third of the run")
