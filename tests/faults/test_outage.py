"""Broker outage and restart, with and without Mosquitto's own persistence.

The agent runs on with its devices while the upstream broker is down; when the broker is back, the backlog must
drain completely, in sequence order, while live readings keep flowing on their own lane.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults import figures
from tests.faults.rig import TimedCapture, audit, store_seqs
from tests.support.agent_proc import AgentProcess, store_rows, wait_until
from tests.support.broker import Broker
from tests.support.site import simulated_devices, write_site

SYNC = "live_split = 300\ndrain_rate = 300\nbatch_max_records = 100"
LONG = 1800.0  # from this length on the outage is recorded as its own row, and drains at the default rate


class Hypervisor:
    """The subscriber's side, across broker restarts: one capture per broker life, records kept in order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.captures = [TimedCapture(port, "fute/gw-test/#", client_id="hypervisor", clean=False)]

    def resubscribe(self) -> None:
        """A broker without persistence forgot the subscription: subscribe again (before the agent is back)."""
        self.captures[-1].close()
        self.captures.append(TimedCapture(self.port, "fute/gw-test/#", client_id="hypervisor", clean=False))

    def records(self) -> list[tuple[float, dict[str, Any]]]:
        return [pair for capture in self.captures for pair in capture.records()]

    def close(self) -> None:
        for capture in self.captures:
            capture.close()


def run_outage(tmp: Path, *, persistence: bool, outage: float) -> None:
    broker = Broker(tmp, persistence=persistence).start()
    hypervisor = Hypervisor(broker.port)
    sync = "batch_max_records = 100" if outage >= LONG else SYNC  # an hour's backlog drains at the default rate
    agent = AgentProcess(write_site(tmp, broker_port=broker.port, sync=sync,
                                    devices=simulated_devices(3, poll=0.05, points=3))).start()
    db = tmp / "store.db"
    try:
        wait_until(lambda: len(hypervisor.records()) > 100, what="readings upstream before the outage")
        broker.stop()
        before = max(store_seqs(db))
        time.sleep(outage)
        backlog_top = max(store_seqs(db))
        assert agent.proc is not None
        if not persistence:  # hold the agent while the hypervisor subscribes again on the amnesic broker
            os.kill(agent.proc.pid, signal.SIGSTOP)
        broker.start()
        back_at = time.monotonic()
        if not persistence:
            hypervisor.resubscribe()
            os.kill(agent.proc.pid, signal.SIGCONT)

        def drained() -> bool:
            # everything committed is upstream, and live data has gone on long enough to be judged (the store's
            # outbox is asked first: parsing what the hypervisor got takes seconds once the backlog is an hour's)
            if store_rows(db, "SELECT 1 FROM outbox WHERE seq<=? LIMIT 1", (backlog_top + 100,)):
                return False
            seqs = store_seqs(db)
            return max(seqs) > backlog_top + 100 and seqs <= {int(r["seq"]) for _, r in hypervisor.records()}

        wait_until(drained, timeout=60 + outage / 2, what="backlog drained")
        drained_in = time.monotonic() - back_at
        agent.terminate()
        time.sleep(0.5)
        _check(hypervisor, db, before, backlog_top, back_at, persistence=persistence, outage=outage,
               drained_in=drained_in)
    finally:
        hypervisor.close()
        if agent.proc is not None:
            os.kill(agent.proc.pid, signal.SIGCONT)
            agent.kill()
        broker.stop()


def _check(hypervisor: Hypervisor, db: Path, before: int, backlog_top: int, back_at: float, *, persistence: bool,
           outage: float, drained_in: float) -> None:
    records = hypervisor.records()
    result = audit(_Merged(records), db, fault_times=[back_at - outage - 1, back_at])
    backlog = [(at, int(r["seq"])) for at, r in records if "point" in r and before < int(r["seq"]) <= backlog_top]
    first: dict[int, float] = {}
    for at, seq in backlog:
        first.setdefault(seq, at)
    order = [seq for seq, _ in sorted(first.items(), key=lambda item: item[1])]
    live = [at for at, r in records if "point" in r and int(r["seq"]) > backlog_top + 50]
    live_during_drain = [at for at in live if at < max(first.values())]
    live_wait = min(live) - back_at if live else float("inf")
    name = f"broker outage {'with' if persistence else 'without'} persistence"
    if outage >= LONG:
        name = f"broker outage of {outage / 3600:g} h {'with' if persistence else 'without'} persistence"
    figures.record(name, promise="the backlog drains completely and in order, live data flowing meanwhile",
                   faults=1, checked=result.committed, lost=len(result.lost), duplicated=result.duplicated,
                   outage_s=outage, backlog_records=backlog_top - before, drained_in_s=round(drained_in, 1),
                   live_readings_during_drain=len(live_during_drain), first_live_after_s=round(live_wait, 2))
    problems = result.failures()
    assert not problems, "PROMISE BROKEN: " + "; ".join(problems)
    assert backlog_top - before > 500, "the outage built no backlog worth the name"
    assert order == sorted(order), "PROMISE BROKEN: the backlog did not drain in sequence order"
    # live data flows meanwhile: it does not queue behind the backlog (which may drain in well under a second)
    assert live_wait < 5.0, f"PROMISE BROKEN: the first live reading came {live_wait:.1f} s after the broker"


class _Merged(TimedCapture):
    """The records of several captures seen through the audit's one-capture interface."""

    def __init__(self, records: list[tuple[float, dict[str, Any]]]) -> None:  # no broker connection
        self._records = records

    def records(self) -> list[tuple[float, dict[str, Any]]]:
        return self._records


@pytest.mark.parametrize("persistence", [True, False], ids=["persistent", "amnesic"])
def test_broker_outage_backlog_drains_completely_in_order_while_live_data_flows(
        tmp_path: Path, persistence: bool) -> None:
    """Promise: after a 12 s broker outage (the broker keeping its state, or forgetting it), every reading committed
    meanwhile reaches the hypervisor, the backlog in sequence order, with live readings delivered during the drain."""
    run_outage(tmp_path, persistence=persistence, outage=12.0)


@pytest.mark.slow
@pytest.mark.lasts("--outage-seconds", factor=1.5)
@pytest.mark.parametrize("persistence", [True, False], ids=["persistent", "amnesic"])
def test_long_broker_outage_backlog_drains_completely_in_order_while_live_data_flows(
        tmp_path: Path, persistence: bool, request: pytest.FixtureRequest) -> None:
    """Promise: the same after a three-minute outage (run with --run-slow; --outage-seconds 3600 for an hour)."""
    run_outage(tmp_path, persistence=persistence, outage=float(request.config.getoption("--outage-seconds")))
