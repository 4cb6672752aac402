"""Full disk: the store on a small tmpfs the test mounts (real ENOSPC), filled by a ballast file.

The promise: when the disk is full the agent keeps every event (alarms), drops the oldest routine readings and
counts them, raises an alarm saying so, keeps running, and recovers (commits and delivers again) once space
returns.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import figures
from tests.faults.rig import UNSENT, TimedCapture, store_seqs
from tests.support.agent_proc import AgentProcess, store_rows, wait_until
from tests.support.broker import Broker
from tests.support.site import simulated_devices, write_site


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A size-limited tmpfs at ``where``; the test is skipped where mounting is not allowed."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Write a ballast file until only ``leave`` bytes are free."""
    ballast = disk / "ballast"
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with open(ballast, "wb") as handle:
        handle.write(b"\0" * max(free - leave, 0))
    return ballast


def counter(db: Path, key: str) -> int:
    rows = store_rows(db, "SELECT value FROM meta WHERE key=?", (key,))
    return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]


def event_seqs(db: Path) -> set[int]:
    return store_seqs(db, "kind=1")


@pytest.mark.parametrize("journal", ["wal", "rollback"])
def test_full_disk_keeps_alarms_drops_oldest_routine_readings_counts_them_and_recovers(tmp_path: Path,
                                                                                      journal: str) -> None:
    """Promise: on a full disk no event is lost, the oldest routine readings go first and are counted, a
    store_dropping alarm is raised, and everything left is delivered once space returns; with the store's WAL and
    with its rollback journal (``journal = "rollback"``)."""
    with small_disk(tmp_path / "disk", "4m") as disk:
        broker = Broker(tmp_path)  # not started: the uplink is down, everything stays in the outbox
        config = write_site(tmp_path, broker_port=broker.port, devices=simulated_devices(4, poll=0.02, points=5),
                            store=f'max_bytes = "10 MB"\nsynchronous = "normal"\njournal = "{journal}"')
        db = disk / "store.db"
        config.write_text(config.read_text().replace(str(tmp_path / "store.db"), str(db)))
        agent = AgentProcess(config).start()
        capture = None
        try:
            wait_until(lambda: db.exists() and len(store_seqs(db)) > 200, what="first commits")
            ballast = fill(disk, leave=150_000)
            events_before = event_seqs(db)
            wait_until(lambda: counter(db, "dropped") > 0, timeout=60, what="readings dropped on a full disk")
            wait_until(lambda: store_rows(db, "SELECT 1 FROM records WHERE point='store_dropping'"), timeout=20,
                       what="a store_dropping alarm")
            full_at = max(store_seqs(db))
            time.sleep(3.0)  # stay full for a while: the agent must keep committing, dropping the oldest
            assert max(store_seqs(db)) > full_at + 100, "PROMISE BROKEN: commits stalled on the full disk"
            assert agent.returncode is None, "PROMISE BROKEN: the agent died on a full disk"
            events_full = event_seqs(db)
            assert events_before <= events_full, "PROMISE BROKEN: events were dropped to make room"
            readings = sorted(store_seqs(db, "kind=0"))
            dropped = counter(db, "dropped")
            ballast.unlink()  # space returns
            top = max(store_seqs(db))
            wait_until(lambda: max(store_seqs(db)) > top + 500, timeout=30, what="commits after space returned")
            broker.start()
            capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
            wait_until(lambda: store_seqs(db) <= {int(r["seq"]) for _, r in capture.records()}, timeout=60,
                       what="everything delivered after recovery")
            agent.terminate()
            time.sleep(0.5)
            assert db.read_bytes()[18:20] == (b"\x02\x02" if journal == "wal" else b"\x01\x01"), "not in that mode"
            delivered = {int(r["seq"]) for _, r in capture.records()}
            missing = sorted(set(range(1, max(delivered) + 1)) - delivered - store_seqs(db, UNSENT))
            alarms = [r for _, r in capture.records() if r.get("event") == "store_dropping"]
            figures.record("full disk" if journal == "wal" else "full disk, rollback mode",
                           promise="alarms kept, oldest routine readings dropped and counted, recovery",
                           faults=1, checked=len(delivered), lost=0, duplicated=0, dropped_routine=dropped,
                           dropped_total=counter(db, "dropped"), events_kept=len(events_full),
                           alarms_raised=len(alarms))
            assert alarms and alarms[0]["priority"] == "alarm", "PROMISE BROKEN: no store_dropping alarm upstream"
            assert events_full <= delivered, "PROMISE BROKEN: an event kept on the full disk was not delivered"
            assert len(missing) == counter(db, "dropped"), "every missing record is a counted drop"
            assert not set(missing) & events_full, "PROMISE BROKEN: a dropped record was an event"
            survivors = [seq for seq in readings if seq in delivered]
            assert survivors and max(missing) < min(survivors), "PROMISE BROKEN: not the oldest readings dropped"
        finally:
            if capture is not None:
                capture.close()
            if agent.proc is not None:
                agent.kill()
            broker.stop()
