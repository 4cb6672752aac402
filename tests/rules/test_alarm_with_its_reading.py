"""An alarm leaves with the reading that raised it, not after that reading's commit interval.

The real agent (its own process), a real pymodbus meter in a thread of the test, a real Mosquitto and the store set
for an SD card (rollback journal, a commit every 10 s). The rules see readings as the group commit queues them: the
alarm is queued right behind its reading's poll and, being an event, is committed at once with it. Before, the rules
saw readings once committed, so an alarm waited for its reading's commit interval (up to 10 s here) and came after
every poll that interval held.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edge_agent.modbus.simulator import SimUnit, make_units, start_tcp
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker
from tests.support.mqtt import Capture, Captured
from tests.support.ports import free_port, wait_port
from tests.support.site import write_site

POLL = 0.2  # fifty polls a commit interval: an alarm that waited for its reading's commit came behind most of them


class Meter:
    """An Eastron SDM120 served by pymodbus in a thread; ``set`` changes what it answers."""

    def __init__(self) -> None:
        self.port = free_port()
        self.units: dict[int, SimUnit] = make_units({1: "eastron_sdm120"})
        self.units[1].set("voltage", 215.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        server = await start_tcp(self.units, self.port)
        while not self._stop.is_set():
            await asyncio.sleep(0.05)
        await server.shutdown()  # type: ignore[no-untyped-call]

    def __enter__(self) -> Meter:
        self._thread.start()
        wait_port(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def meter() -> Iterator[Meter]:
    with Meter() as running:
        yield running


def _records(messages: list[Captured], lane: str) -> list[dict[str, Any]]:
    return [record for m in messages if m.topic.endswith(f"/{lane}") for record in m.json()["records"]]


def test_an_alarm_is_committed_with_its_reading_under_ten_second_commits(tmp_path: Path, broker: Broker,
                                                                           meter: Meter) -> None:
    devices = (f'[[devices]]\ndriver = "modbus"\nname = "meter"\nprofile = "eastron_sdm120"\nhost = "127.0.0.1"\n'
               f"port = {meter.port}\nunit = 1\npoll_interval = {POLL}\n")
    rule = ('[[alarms]]\nkind = "threshold"\nname = "overvoltage"\ndevice = "meter"\npoint = "voltage"\n'
            'raise_above = 250.0\nclear_at = 240.0\npriority = "alarm"\n')
    path = write_site(tmp_path, broker_port=broker.port, devices=devices, extra=rule, store='journal = "rollback"')
    path.write_text(path.read_text().replace("commit_interval = 0.1", "commit_interval = 10"))
    capture = Capture(broker.port, "fute/gw-test/#")
    agent = AgentProcess(path).start()
    try:
        capture.wait_for(lambda ms: _records(ms, "readings"), timeout=40)  # the first commit: the meter is heard
        # The rules start after the drivers: a reading polled before judges at their first tick, not at once.
        wait_until(lambda: '"agent_ready"' in agent.log.read_text(), timeout=30, what="the agent ready")
        meter.units[1].set("voltage", 260.0)
        [alarm] = capture.wait_for(
            lambda ms: [e for e in _records(ms, "events") if e.get("event") == "alarm.raised"], timeout=30)
        readings = capture.wait_for(  # the reading that raised it, sent from the same commit
            lambda ms: [r for r in _records(ms, "readings") if r["seq"] < alarm["seq"]
                        and r["point"] == "voltage" and r["value"] == 260.0] and _records(ms, "readings"),
            timeout=30)
    finally:
        agent.terminate()
        capture.close()
    raising = min((r for r in readings if r["point"] == "voltage" and r["value"] == 260.0), key=lambda r: r["seq"])
    assert raising["ts"] == alarm["ts"] and alarm["data"]["value"] == 260.0
    # Committed between the two: only the rest of that poll (its other blocks, read milliseconds later), no later poll.
    later = {r["ts"] for r in readings if raising["seq"] < r["seq"] < alarm["seq"]
             and _instant(r["ts"]) - _instant(raising["ts"]) > POLL / 2}
    assert not later, (f"the alarm (seq {alarm['seq']}) came behind polls of {sorted(later)}: it waited for its "
                       "reading's commit instead of being committed with it")


def _instant(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
