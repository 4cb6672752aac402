"""The engine on a FakeClock: restart mid-night, unsynchronised clock, overrides, retries, alarms as events."""

from __future__ import annotations

import asyncio
import sys
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.clock import FakeClock
from edge_agent.reading import Priority, Reading
from edge_agent.rules.actions import ActionOutcome
from edge_agent.rules.engine import build_service
from edge_agent.rules.programs import Place, night_plan
from edge_agent.services import ServiceContext
from tests.rules.support import DIMMED, ESTERNAY, ListSink, RecordingPort, engine, one_group, site

PARIS = ZoneInfo("Europe/Paris")
PLACE = Place(ESTERNAY["latitude"], ESTERNAY["longitude"], "Europe/Paris")
EVENING = date(2026, 11, 12)
NOON = datetime.combine(EVENING, time(12), PARIS).timestamp()
MEMBERS = {("cabinet", "circuit1_level"), ("node-1", None)}


def at(hour: int, minute: int = 0, day: date = EVENING) -> float:
    return datetime.combine(day, time(hour, minute), PARIS).timestamp()


@settings(max_examples=60, deadline=None)
@given(minute=st.integers(min_value=0, max_value=24 * 60 - 1))
def test_a_restart_at_any_minute_of_the_night_restores_the_planned_level_at_once(minute: int) -> None:
    config = site(ESTERNAY, one_group(DIMMED))
    now = NOON + 60 * minute
    clock = FakeClock(now)
    rules, _, port = engine(config, clock)
    asyncio.run(rules.tick())
    wanted = night_plan(config.lighting, "rue", EVENING, PLACE).level_at(now)
    assert {(d, p) for _, d, p, _ in port.writes} == MEMBERS
    assert all(level == wanted for *_, level in port.writes)
    asyncio.run(rules.tick())  # nothing more to do in the same minute: idempotent, no repeat
    assert len(port.writes) == 2


def test_restart_in_the_dimmed_part_of_the_night() -> None:
    clock = FakeClock(at(2, 17, EVENING + timedelta(days=1)))
    rules, _, port = engine(site(ESTERNAY, one_group(DIMMED)), clock)
    asyncio.run(rules.tick())
    assert port.levels == {("cabinet", "circuit1_level"): 40, ("node-1", None): 40}


def test_unsynchronised_clock_holds_the_safe_level_until_sync() -> None:
    clock = FakeClock(0.0, synced=False)  # a Pi without battery clock: 1970
    rules, _, port = engine(site(ESTERNAY, one_group(DIMMED, safe_level=70)), clock)
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {70}
    assert rules.groups_status()[0]["source"] == "safe"
    clock.jump(at(23, 30) - clock.now())  # NTP steps the clock to 23:30 in November
    clock.set_synced(True)
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {40}


def test_override_holds_then_expires_and_the_program_resumes() -> None:
    clock = FakeClock(at(20, 0))
    rules, sink, port = engine(site(ESTERNAY, one_group(DIMMED)), clock)
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {100}
    asyncio.run(rules.set_override("rue", 0, duration_s=3 * 3600))
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {0}
    clock.advance(2 * 3600)  # 22:00: the program dims, the override still holds
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {0}
    assert rules.groups_status()[0]["override"]["remaining_s"] == 3600
    clock.advance(3600)  # 23:00: expired
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {40}
    assert len(sink.events("lighting.override_expired")) == 1


def test_empty_override_resumes_at_once_and_unknown_group_is_refused() -> None:
    clock = FakeClock(at(23, 0))
    rules, _, port = engine(site(ESTERNAY, one_group(DIMMED)), clock)
    asyncio.run(rules.set_override("rue", 100))  # no expiry
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {100}
    asyncio.run(rules.set_override("rue", None))
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {40}
    with pytest.raises(ValueError, match="no lighting group 'nope'"):
        asyncio.run(rules.set_override("nope", 10, 60))
    with pytest.raises(ValueError, match="percentage"):
        asyncio.run(rules.set_override("rue", 120, 60))


def test_failed_writes_are_retried_with_limits_and_recorded() -> None:
    clock = FakeClock(at(20, 0))
    rules, sink, port = engine(site(ESTERNAY, one_group(DIMMED)), clock)
    port.fail = 100
    for _ in range(30):  # 30 min of ticks every minute: retries at 0, 30 s, 60 s, 120 s then hourly
        asyncio.run(rules.tick())
        clock.advance(60)
    failed = sink.events("lighting.set_level")
    per_member = [e for e in failed if e.device == "cabinet"]
    assert [e.data["attempt"] for e in per_member] == [1, 2, 3, 4]
    assert per_member[-1].priority == Priority.ALARM  # gave up: an alarm, retried hourly from now on
    port.fail = 0
    clock.advance(3600)
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {100}
    assert rules.health()["actions_failed"] == 8


def test_port_exceptions_do_not_stop_the_engine() -> None:
    class Broken(RecordingPort):
        async def set_level(self, device: str, point: str | None, level: int):  # type: ignore[no-untyped-def]
            raise OSError("bus gone")

    clock = FakeClock(at(20, 0))
    sink = ListSink()
    rules = build_service(ServiceContext(site(ESTERNAY, one_group(DIMMED)), sink, clock), Broken())
    assert rules is not None
    asyncio.run(rules.tick())
    assert all("bus gone" in e.message for e in sink.events("lighting.set_level"))


def test_alarm_events_flow_from_queued_readings() -> None:
    alarms = [{"kind": "threshold", "name": "bin-full", "device": "bin-*", "point": "fill",
               "raise_above": 80, "clear_at": 60, "for_s": 600}]
    clock = FakeClock(at(9, 0))
    rules, sink, _ = engine(site(ESTERNAY, {}, alarms), clock)
    rules.on_queued([Reading("bin-3", "fill", 85.0, clock.now())])
    asyncio.run(rules.tick())
    assert sink.events("alarm.raised") == []
    clock.advance(601)  # no new reading, but the minimum duration has passed
    asyncio.run(rules.tick())
    [raised] = sink.events("alarm.raised")
    assert (raised.device, raised.priority, raised.data["value"]) == ("bin-3", Priority.ALARM, 85.0)
    rules.on_queued([Reading("bin-3", "fill", 10.0, clock.now())])
    asyncio.run(rules.tick())
    assert len(sink.events("alarm.cleared")) == 1


def test_lamp_failure_uses_the_commanded_level() -> None:
    alarms = [{"kind": "lamp_failure", "name": "c1", "device": "cabinet", "command_point": "circuit1_level",
               "current_point": "circuit1_current", "current_below": 0.3, "for_s": 120}]
    clock = FakeClock(at(11, 0))  # day: the circuit is commanded off
    rules, sink, _ = engine(site(ESTERNAY, one_group(DIMMED), alarms), clock)
    asyncio.run(rules.tick())
    for _ in range(5):
        rules.on_queued([Reading("cabinet", "circuit1_current", 0.0, clock.now())])
        asyncio.run(rules.tick())
        clock.advance(60)
    assert sink.events("alarm.raised") == []  # off by command: no current is right
    clock.advance(at(20, 0) - clock.now())
    asyncio.run(rules.tick())  # commanded on
    for _ in range(4):
        rules.on_queued([Reading("cabinet", "circuit1_current", 0.05, clock.now())])
        asyncio.run(rules.tick())
        clock.advance(60)
    [raised] = sink.events("alarm.raised")
    assert "lamp or fuse failure" in raised.message


def test_inbox_is_bounded_and_counts_drops() -> None:
    alarms = [{"kind": "silent", "name": "s", "max_silence_s": 60}]
    clock = FakeClock(at(9, 0))
    sink, port = ListSink(), RecordingPort()
    from edge_agent.rules.engine import RulesEngine

    rules = RulesEngine(ServiceContext(site(ESTERNAY, {}, alarms), sink, clock), port, inbox_size=10)
    rules.on_queued([Reading("d", "p", float(n), clock.now()) for n in range(25)])
    assert rules.health()["inbox"] == 10
    assert rules.health()["dropped"] == 15


def test_build_service_is_none_without_rules() -> None:
    context = ServiceContext(site(ESTERNAY, {}), ListSink(), FakeClock())
    assert build_service(context, RecordingPort()) is None


async def _first_levels(port: RecordingPort) -> None:
    """Wait (up to a second) for the started engine's first levels at ``port``."""
    for _ in range(100):
        await asyncio.sleep(0.01)
        if port.levels:
            break


def test_the_loop_runs_and_stops() -> None:
    async def scenario() -> int:
        clock = FakeClock(at(20, 0))
        rules, _, port = engine(site(ESTERNAY, one_group(DIMMED)), clock)
        await rules.start()
        await _first_levels(port)
        await rules.set_override("rue", 5, 60)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if set(port.levels.values()) == {5}:
                break
        await rules.stop()
        return rules.ticks

    assert asyncio.run(scenario()) >= 2


def test_a_hold_that_wakes_the_loop_as_it_is_stopped_does_not_hold_the_stop() -> None:
    """The hold wakes the loop's ``wait_for`` in the very turn the stop cancels it: on Python 3.11 that cancel is
    swallowed and the loop ticks on; the stop cancels again until the loop has ended."""

    async def scenario() -> tuple[int, bool]:
        clock = FakeClock(at(20, 0))
        rules, _, port = engine(site(ESTERNAY, one_group(DIMMED)), clock)
        await rules.start()
        await _first_levels(port)
        await asyncio.sleep(0.01)  # the loop waits for its next tick
        task = rules._task
        assert task is not None
        await rules.set_override("rue", 5, 60)  # no await in it suspends: the loop's wake and the stop share a turn
        ticks = rules.ticks
        stopping = asyncio.create_task(rules.stop())
        await asyncio.wait([stopping], timeout=5.0)  # a single cancel then await would still wait here
        stopped = stopping.done()
        stopping.cancel()  # only to end the scenario if it is still waiting
        await asyncio.gather(stopping, return_exceptions=True)
        assert stopped, "the stop did not end"
        return rules.ticks - ticks, task.cancelled()

    ran_on, cancelled = asyncio.run(scenario())
    assert cancelled
    if sys.version_info < (3, 12):  # the cancel was swallowed: the loop ticked after it (3.12 raises instead)
        assert ran_on >= 1


def test_a_read_back_that_differs_counts_as_a_failed_write() -> None:
    class Stuck(RecordingPort):
        async def set_level(self, device: str, point: str | None, level: int) -> ActionOutcome:
            self.writes.append((0.0, device, point, level))
            return ActionOutcome(ok=True, read_back=0)  # the relay stays open

    clock = FakeClock(at(20, 0))
    sink = ListSink()
    rules = build_service(ServiceContext(site(ESTERNAY, one_group(DIMMED)), sink, clock), Stuck())
    assert rules is not None
    asyncio.run(rules.tick())
    clock.advance(31)
    asyncio.run(rules.tick())
    attempts = [e.data["attempt"] for e in sink.events("lighting.set_level") if e.device == "cabinet"]
    assert attempts == [1, 2]
    assert "read back 0 %" in sink.events("lighting.set_level")[0].message
    assert rules.groups_status()[0]["members"][0] == {
        "device": "cabinet", "point": "circuit1_level", "confirmed": None, "failures": 2}


def test_readings_the_rules_cannot_judge_never_abort_a_tick() -> None:
    """Readings dated year 9999, year 1, 2**62 s or NaN once made the darkness check raise and abort the tick
    before any level was written; a value no rule foresaw did the same. Each is skipped and counted; the override
    is applied and the good reading behind them still raises its alarm, in that same tick."""
    alarms = [{"kind": "threshold", "name": "hot", "device": "cabinet", "point": "t", "raise_above": 50,
               "clear_at": 40}]
    clock = FakeClock(at(21, 0))
    rules, sink, port = engine(site(ESTERNAY, one_group(DIMMED), alarms), clock)
    asyncio.run(rules.set_override("rue", 37, duration_s=600))
    bad = [Reading("cabinet", "t", 60.0, ts) for ts in (253_402_300_799.0, -62_135_596_800.0, float(2**62),
                                                        float("nan"), float("inf"))]
    huge = Reading("cabinet", "t", 10**400, clock.now())
    rules.on_queued([*bad, huge, Reading("cabinet", "t", 60.0, clock.now())])
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {37}
    [raised] = sink.events("alarm.raised")
    assert raised.ts == clock.now()
    assert rules.health()["bad_readings"] == 6 and rules.health()["inbox"] == 0


def test_a_group_that_cannot_be_worked_out_never_holds_back_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """A group whose plan fails in a way no one foresaw falls back to its override or safe level; one whose
    levels cannot be worked out at all is skipped and counted; either way the other groups get their levels."""
    lighting = one_group(DIMMED)
    second = {**lighting["groups"][0], "name": "place", "members": [{"device": "node-2"}]}
    lighting["groups"].append(second)
    clock = FakeClock(at(23, 0))
    rules, _, port = engine(site(ESTERNAY, lighting), clock)
    real_plan = rules.plan

    def plan(group: str, now: float) -> object:
        if group == "place":
            raise OverflowError("date value out of range")
        return real_plan(group, now)

    monkeypatch.setattr(rules, "plan", plan)
    asyncio.run(rules.tick())
    assert port.levels[("node-2", None)] == 100  # its safe level
    assert port.levels[("node-1", None)] == 40  # its program
    monkeypatch.setattr(rules, "_group_actions", _fails_for("place", rules._group_actions))
    asyncio.run(rules.set_override("rue", 5, duration_s=600))
    asyncio.run(rules.tick())
    assert port.levels[("node-1", None)] == 5
    assert rules.health()["group_failures"] == 1


def _fails_for(name: str, real: Any) -> Any:
    def group_actions(group: Any, *args: Any) -> Any:
        if group.name == name:
            raise RuntimeError("a bug in one group")
        return real(group, *args)
    return group_actions


def test_a_running_engine_judges_committed_readings_at_once_not_at_its_next_tick() -> None:
    """With the service started (ticks every 300 s), a committed reading over a threshold gives its alarm event
    without waiting for a tick; the tick that follows judges nothing twice."""
    alarms = [{"kind": "threshold", "name": "bin-full", "device": "bin-*", "point": "fill",
               "raise_above": 80, "clear_at": 60}]
    clock = FakeClock(at(9, 0))
    config = site(ESTERNAY, {}, alarms)
    config = config.model_copy(update={"lighting": config.lighting.model_copy(update={"tick_s": 300.0})})
    rules, sink, _ = engine(config, clock)

    async def scenario() -> bool:
        await rules.start()
        await asyncio.sleep(0.05)  # the first tick has run; the next is 300 s away
        rules.on_queued([Reading("bin-3", "fill", 85.0, clock.now())])
        for _ in range(200):
            if sink.events("alarm.raised"):
                break
            await asyncio.sleep(0.01)
        before_tick = bool(sink.events("alarm.raised"))
        await rules.tick()
        await rules.stop()
        return before_tick

    assert asyncio.run(scenario()), "the alarm waited for the next tick"
    [raised] = sink.events("alarm.raised")
    assert (raised.device, raised.data["value"]) == ("bin-3", 85.0)
