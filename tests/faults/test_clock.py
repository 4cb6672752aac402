"""Clock trouble: the wall clock jumps backwards and forwards by hours, and the gateway starts unsynchronised.

Injected in-process through the agent's Clock (libfaketime is not installed on this machine): the real agent
(``Agent`` with its store, committer, uplink and simulated devices) runs against a real Mosquitto with a clock
whose wall time the test steps, while monotonic time runs on. The promise: sequence numbers follow commit order
whatever the wall clock says, nothing is lost or duplicated, readings taken while the clock was untrusted are
flagged, and the lighting schedule never writes the same level twice because of a jump.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

from edge_agent.agent import Agent
from edge_agent.clock import FakeClock
from edge_agent.config.load import load_config
from tests.faults import figures
from tests.faults.rig import TimedCapture, audit
from tests.rules.support import DIMMED, ESTERNAY, engine, one_group, site
from tests.support.broker import Broker
from tests.support.site import simulated_devices, write_site

HOUR = 3600.0
BEFORE_2025 = datetime(2023, 6, 1).timestamp()


class SteppedClock:
    """The machine's clocks, with a wall-time offset the test steps (an NTP step, a manual change, no RTC)."""

    def __init__(self, offset: float, synced: bool) -> None:
        self.offset = offset
        self._synced = synced

    def now(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()

    def synced(self) -> bool:
        return self._synced

    def step(self, offset: float, synced: bool = True) -> None:
        self.offset, self._synced = offset, synced


async def _run_with_steps(config: Path, clock: SteppedClock, steps: list[tuple[float, float, bool]]) -> None:
    agent = Agent(load_config(config), clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    for pause, offset, synced in steps:
        await asyncio.sleep(pause)
        clock.step(offset, synced)
    await asyncio.sleep(6.0)  # the agent notices a clock change within its 5 s stats period
    stop.set()
    await task


def test_wall_clock_jumps_and_an_unsynchronised_start_keep_sequence_order_and_flag_timestamps(
        tmp_path: Path, broker: Broker) -> None:
    """Promise: starting in 2023 (no RTC), then synced, then stepped +3 h and -5 h, every committed record arrives
    once with sequence numbers in commit order; readings taken before the sync are flagged clock_synced=false."""
    capture = TimedCapture(broker.port, "fute/gw-test/#", client_id="hypervisor", clean=False)
    config = write_site(tmp_path, broker_port=broker.port, devices=simulated_devices(2, poll=0.05, points=2))
    clock = SteppedClock(BEFORE_2025 - time.time(), synced=False)
    steps = [(2.0, 0.0, True), (2.0, 3 * HOUR, True), (2.0, -5 * HOUR, True)]
    try:
        asyncio.run(_run_with_steps(config, clock, steps))
        time.sleep(0.5)
        result = audit(capture, tmp_path / "store.db", fault_times=[])
        records = [r for _, r in capture.records()]
    finally:
        capture.close()
    readings = sorted((int(r["seq"]), r) for r in records if "point" in r)
    years = [(seq, int(str(r["ts"])[:4]), r.get("clock_synced", True)) for seq, r in readings]
    early = [flag for _, year, flag in years if year == 2023]
    later = [flag for _, year, flag in years if year > 2024]
    backwards = 0
    previous: dict[str, str] = {}
    for _, reading in readings:  # in sequence order, per device: a timestamp earlier than the one before
        device, ts = str(reading["device"]), str(reading["ts"])
        backwards += device in previous and ts < previous[device]
        previous[device] = ts
    events = [str(r.get("event")) for r in records]
    figures.record("clock jumps and unsynchronised start", promise="sequence order holds, untrusted times flagged",
                   faults=len(steps) + 1, checked=result.committed, lost=len(result.lost),
                   duplicated=result.duplicated, flagged=len(early), backward_steps_seen=backwards)
    assert not result.failures(), "PROMISE BROKEN: " + "; ".join(result.failures())
    assert result.duplicated == 0, "PROMISE BROKEN: a clock jump duplicated records"
    assert early and not any(early), "PROMISE BROKEN: readings taken before the sync are not flagged"
    assert later and all(later), "readings taken after the sync must not be flagged"
    assert backwards >= 1, "the backward step must show in timestamps while sequence numbers go on"
    assert "clock_synced" in events


PARIS = ZoneInfo("Europe/Paris")
EVENING = date(2026, 11, 12)


def _at(hour: int, minute: int = 0, day: date = EVENING) -> float:
    return datetime.combine(day, dtime(hour, minute), PARIS).timestamp()


def test_lighting_schedule_never_writes_twice_when_the_wall_clock_jumps() -> None:
    """Promise: ticking every minute through a night while the wall clock steps back 2 h, forward 3 h and back 1 h,
    the engine never writes a level an actuator already has, and ends on the level the plan wants."""
    clock = FakeClock(_at(22, 0))
    rules, _, port = engine(site(ESTERNAY, one_group(DIMMED)), clock)
    port.clock = clock
    jumps = {90: -2 * HOUR, 200: 3 * HOUR, 300: -1 * HOUR}  # 23:30 -> 21:30, 23:20 -> 02:20, 04:00 -> 03:00
    last: dict[tuple[str, str | None], int] = {}
    repeats = 0
    writes_seen = 0
    for minute in range(360):
        if minute in jumps:
            clock.jump(jumps[minute])
        asyncio.run(rules.tick())
        for _, device, point, level in port.writes[writes_seen:]:
            repeats += last.get((device, point)) == level
            last[(device, point)] = level
        writes_seen = len(port.writes)
        clock.advance(60)
    figures.record("lighting schedule under clock jumps", promise="no schedule step written twice",
                   faults=len(jumps), checked=writes_seen, lost=0, duplicated=repeats)
    assert repeats == 0, f"PROMISE BROKEN: {repeats} writes repeated a level the actuator already had"
    from edge_agent.rules.programs import Place, night_plan

    place = Place(ESTERNAY["latitude"], ESTERNAY["longitude"], "Europe/Paris")
    day = datetime.fromtimestamp(clock.now() - 12 * HOUR, PARIS).date()
    wanted = night_plan(site(ESTERNAY, one_group(DIMMED)).lighting, "rue", day, place).level_at(clock.now())
    assert set(port.levels.values()) == {wanted}
    assert timedelta(seconds=clock.now() - _at(22, 0)) > timedelta(hours=5)
