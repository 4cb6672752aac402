"""A whole year of nights for Esternay and Belleville-sur-Meuse: switch times against an independent sun
reference, both daylight-saving nights, both solstices, and the engine walked through the year on a FakeClock."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge_agent.clock import FakeClock
from edge_agent.rules.programs import Place, Step, local_instant, night_plan
from tests.rules import noaa
from tests.rules.support import BELLEVILLE, CUTOFF, DIMMED, ESTERNAY, engine, one_group, site

PARIS = ZoneInfo("Europe/Paris")
SITES = [pytest.param(ESTERNAY, id="esternay"), pytest.param(BELLEVILLE, id="belleville")]
SPRING, AUTUMN = date(2026, 3, 28), date(2026, 10, 24)  # the nights the clocks change (Sat to Sun)
YEAR = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]


def place(where: dict[str, Any]) -> Place:
    return Place(where["latitude"], where["longitude"], where["timezone"])


def local(day: date, hour: int, minute: int = 0) -> float:
    return datetime.combine(day, time(hour, minute), PARIS).timestamp()


@pytest.mark.parametrize("where", SITES)
def test_cutoff_program_every_night_of_the_year(where: dict[str, Any]) -> None:
    config = site(where, one_group(CUTOFF))
    lat, lon = where["latitude"], where["longitude"]
    assert {SPRING, AUTUMN, date(2026, 6, 21), date(2026, 12, 21)} <= set(YEAR)
    for evening in YEAR:
        morning = evening + timedelta(days=1)
        plan = night_plan(config.lighting, "rue", evening, place(where))
        on, cut, back, off = plan.steps[1:]
        assert [s.level for s in plan.steps] == [0, 100, 0, 100, 0]
        assert abs(on.ts - noaa.sunset(evening, lat, lon)) < 60, evening
        assert abs(off.ts - noaa.sunrise(morning, lat, lon)) < 60, evening
        assert datetime.fromtimestamp(cut.ts, PARIS).time() == time(23, 0)
        assert datetime.fromtimestamp(back.ts, PARIS).time() == time(5, 0)
        expected_hours = {SPRING: 5, AUTUMN: 7}.get(evening, 6)
        assert back.ts - cut.ts == expected_hours * 3600, evening


@pytest.mark.parametrize("where", SITES)
def test_solstice_nights_against_the_reference(where: dict[str, Any]) -> None:
    config = site(where, one_group({"name": "dusk-dawn", "periods": [{"start": "sunset", "end": "sunrise"}]}))
    lengths = {}
    for evening in (date(2026, 6, 21), date(2026, 12, 21)):
        plan = night_plan(config.lighting, "rue", evening, place(where))
        on, off = plan.steps[1].ts, plan.steps[2].ts
        lat, lon = where["latitude"], where["longitude"]
        assert abs(on - noaa.sunset(evening, lat, lon)) < 60
        assert abs(off - noaa.sunrise(evening + timedelta(days=1), lat, lon)) < 60
        lengths[evening.month] = (off - on) / 3600
    assert 7.5 < lengths[6] < 8.5  # about 8 h of night in June at 49° N
    assert 15.5 < lengths[12] < 16.5  # about 16 h in December


def test_a_step_inside_the_spring_gap_happens_once_at_the_jump() -> None:
    program = {"name": "p", "periods": [{"start": "sunset", "end": "02:30", "level": 100}]}
    config = site(ESTERNAY, one_group(program))
    spring = night_plan(config.lighting, "rue", SPRING, place(ESTERNAY))
    assert spring.steps[-1].ts == datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()  # 02:00 CET = 03:00 CEST
    autumn = night_plan(config.lighting, "rue", AUTUMN, place(ESTERNAY))
    assert autumn.steps[-1].ts == datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp()  # the first 02:30
    assert [s.level for s in autumn.steps] == [0, 100, 0]


def test_local_instant_is_plain_on_ordinary_days() -> None:
    assert local_instant(date(2026, 1, 10), time(23, 0), PARIS) == datetime(2026, 1, 10, 22, tzinfo=UTC).timestamp()


async def _walk(where: dict[str, Any], program: dict[str, Any], start: float, stop: float, step_s: float) -> Any:
    config = site(where, one_group(program))
    clock = FakeClock(start)
    rules, _, port = engine(config, clock)
    while clock.now() < stop:
        await rules.tick()
        clock.advance(step_s)
    return config, rules, port


@pytest.mark.parametrize("where", SITES)
def test_engine_walks_the_year_without_double_or_missed_switches(where: dict[str, Any]) -> None:
    tick = 300.0
    start, stop = local(date(2026, 1, 1), 12), local(date(2027, 1, 1), 12)
    config, _, port = asyncio.run(_walk(where, DIMMED, start, stop, tick))
    expected: list[Step] = []
    for evening in YEAR:
        plan = night_plan(config.lighting, "rue", evening, place(where))
        expected.extend(plan.steps[1:])
    for member in (("cabinet", "circuit1_level"), ("node-1", None)):
        writes = [(ts, level) for ts, device, point, level in port.writes if (device, point) == member]
        assert writes[0][1] == 0  # the first tick, at noon, sets the level of noon: off
        assert len(writes) - 1 == len(expected) == 365 * 4
        for (ts, level), step in zip(writes[1:], expected, strict=True):
            assert level == step.level
            assert step.ts <= ts < step.ts + tick  # at the first tick after the planned instant


@pytest.mark.parametrize("evening", [SPRING, AUTUMN], ids=["march", "october"])
def test_engine_minute_by_minute_through_the_dst_nights(evening: date) -> None:
    start, stop = local(evening, 12), local(evening + timedelta(days=1), 12)
    _, _, port = asyncio.run(_walk(ESTERNAY, CUTOFF, start, stop, 60.0))
    writes = [(ts, level) for ts, device, _, level in port.writes if device == "cabinet"]
    assert [level for _, level in writes] == [0, 100, 0, 100, 0]
    dark_hours = (writes[3][0] - writes[2][0]) / 3600
    assert dark_hours == (5 if evening == SPRING else 7)
