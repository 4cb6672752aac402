"""Crash anywhere: kill -9 the real agent at random moments while it ingests from real simulated devices
(Modbus TCP simulators, ChirpStack uplinks, simulated points) and syncs to a real Mosquitto.

Two kinds of crash are injected: a plain kill -9 of the agent, and a kill -9 while the upstream broker is
stalled (SIGSTOP), followed by a kill -9 of the broker itself: batches the agent published then never got a
PUBACK, and whatever sat in the broker's socket is gone. The promise: every record the store committed, and
every uplink ChirpStack handed over, reaches the hypervisor; sequence numbers have no gap; a record arrives
twice only when a fault came between its two copies (its PUBACK was lost).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tests.faults import figures
from tests.faults.rig import Audit, ChirpstackFeeder, TimedCapture, audit, running_rig, store_seqs
from tests.support.agent_proc import AgentProcess, wait_until

BROKEN_OUTBOX = Path(__file__).with_name("broken_outbox")
PROMISE = "kill -9 at random moments: no committed record lost, no sequence gap, duplicates only across a fault"


@dataclass
class CrashRun:
    audit: Audit
    kills: int
    stalls: int


def _settled(capture: TimedCapture, db: Path, feeder: ChirpstackFeeder) -> bool:
    delivered = {int(r["seq"]) for _, r in capture.records()}
    if not store_seqs(db) <= delivered:
        return False
    heard: dict[str, set[int]] = {}
    for _, record in capture.records():
        if record.get("point") == "lorawan.f_cnt":
            heard.setdefault(str(record["device"]), set()).add(int(record["value"]))
    return all(counts <= heard.get(device, set()) for device, counts in feeder.produced.items())


def run_crash_scenario(tmp: Path, *, kills: int, seed: int, env: dict[str, str] | None = None,
                       drain_timeout: float = 40.0) -> CrashRun:
    """Run the devices, the brokers and the agent; crash it ``kills`` times; audit what the hypervisor got."""
    rng = random.Random(seed)
    faults: list[float] = []
    stalls = 0
    with running_rig(tmp, modbus_devices=3, env=env) as rig:
        db = rig.db
        for index in range(kills):
            floor = max(store_seqs(db), default=0) if db.exists() else 0
            wait_until(lambda f=floor: db.exists() and max(store_seqs(db), default=0) > f + 20,
                       timeout=30, what="the agent committing again")
            time.sleep(rng.uniform(0.2, 1.2))
            stall = index % 3 == 2
            if stall:  # the broker stops reading: publishes go out, no PUBACK comes back
                stalls += 1
                assert rig.upstream.proc is not None
                os.kill(rig.upstream.proc.pid, signal.SIGSTOP)
                faults.append(time.monotonic())  # from here the broker's own replay may duplicate (autosave 1 s)
                time.sleep(rng.uniform(0.5, 1.0))
            faults.append(time.monotonic())
            rig.agent.kill()
            if stall:
                rig.upstream.kill()  # what it had not read is gone; it restarts from its own persistence
                rig.upstream.start()
            rig.agent = AgentProcess(rig.config, env=env).start()
        time.sleep(1.0)
        rig.feeder.stop()
        with contextlib.suppress(AssertionError):  # the audit says what is missing
            wait_until(lambda: _settled(rig.capture, db, rig.feeder), timeout=drain_timeout,
                       what="everything delivered")
        rig.agent.terminate()
        time.sleep(0.5)
        return CrashRun(audit(rig.capture, db, fault_times=faults, produced=rig.feeder.produced), kills, stalls)


def test_kill_9_anywhere_loses_no_committed_record_and_duplicates_only_across_a_fault(tmp_path: Path) -> None:
    """Promise: after 9 kill -9s (3 of them with PUBACKs lost), every committed record and every ChirpStack uplink
    reached the hypervisor, sequence numbers have no gap, and no record arrived twice without a fault between."""
    run = run_crash_scenario(tmp_path, kills=9, seed=20261128)
    result = run.audit
    figures.record("crash anywhere", promise=PROMISE, faults=run.kills + run.stalls, checked=result.committed,
                   lost=len(result.lost) + sum(len(v) for v in result.lorawan_lost.values()),
                   duplicated=result.duplicated, kills=run.kills, puback_lost_stalls=run.stalls,
                   lorawan_uplinks_checked=result.lorawan_produced, gaps=len(result.gaps),
                   unexplained_duplicates=len(result.unexplained_duplicates))
    assert result.committed > 1000, f"too little traffic to prove anything: {result.committed} records"
    assert result.lorawan_produced > 100
    problems = result.failures()
    assert not problems, "PROMISE BROKEN: " + "; ".join(problems)


def test_the_crash_check_fails_against_an_outbox_that_acknowledges_before_puback(tmp_path: Path) -> None:
    """Teeth: the same scenario against an agent patched (sitecustomize on its PYTHONPATH) to mark batches sent when
    it publishes them rather than on PUBACK must be reported as losing records."""
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(BROKEN_OUTBOX), os.environ.get("PYTHONPATH")]))}
    run = run_crash_scenario(tmp_path, kills=3, seed=7, env=env, drain_timeout=15.0)
    result = run.audit
    figures.record("teeth: outbox acking before PUBACK", promise="the crash check catches a broken outbox",
                   faults=run.kills + run.stalls, checked=result.committed, lost=len(result.lost),
                   duplicated=result.duplicated, detected=bool(result.failures()))
    assert result.lost, "the suite did not notice records acknowledged before their PUBACK and then lost"
    assert any("never reached the broker" in problem for problem in result.failures())
