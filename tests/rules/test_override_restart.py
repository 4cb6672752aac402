"""Overrides survive a restart: saved in a real SQLite file, resumed with what is left of them, never stretched.

Each 'restart' is a new engine on a new FakeClock (its monotonic clock starts again, as after a reboot) reading the
same store file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.clock import FakeClock
from edge_agent.rules.engine import RulesEngine
from edge_agent.rules.overrides import Resume, resume_saved
from tests.rules.support import DIMMED, ESTERNAY, ListSink, RecordingPort, engine, one_group, site

PARIS = ZoneInfo("Europe/Paris")
EVENING = date(2026, 11, 12)
CONFIG = site(ESTERNAY, one_group(DIMMED, safe_level=70))  # 100 % until 22:00, 40 % after


def at(hour: int, minute: int = 0) -> float:
    day = EVENING + timedelta(days=1) if hour < 12 else EVENING
    return datetime.combine(day, time(hour, minute), PARIS).timestamp()


def boot(path: Path, clock: FakeClock) -> tuple[RulesEngine, ListSink, RecordingPort]:
    rules, sink, port = engine(CONFIG, clock, overrides_path=path)
    asyncio.run(rules.load_saved())
    return rules, sink, port


def stop(rules: RulesEngine) -> None:
    asyncio.run(rules.stop())


def saved_groups(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT grp FROM lighting_overrides")]


@pytest.mark.parametrize(("duration", "ends_at", "now", "synced", "expected"), [
    (None, None, 500.0, True, Resume("hold")),  # until cleared
    (3600.0, 1000.0, 400.0, True, Resume("hold", 600.0)),  # what is left
    (3600.0, 1000.0, 1000.0, True, Resume("ended")),  # ended exactly at restart
    (3600.0, 1000.0, 5000.0, True, Resume("ended")),
    (3600.0, 1000.0, 400.0, False, Resume("wait")),  # the clock cannot tell yet
    (3600.0, None, 400.0, False, Resume("hold", 3600.0)),  # set before sync: cannot be placed, full duration
    (3600.0, 9000.0, 400.0, True, Resume("hold", 3600.0)),  # clock stepped back: never longer than asked
])
def test_what_is_left_of_a_saved_override(duration: float | None, ends_at: float | None, now: float, synced: bool,
                                          expected: Resume) -> None:
    assert resume_saved(duration, ends_at, now, synced) == expected


def test_a_reboot_mid_override_resumes_it_for_what_is_left(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    clock = FakeClock(at(20, 0))
    rules, sink, port = boot(db, clock)
    asyncio.run(rules.set_override("rue", 0, duration_s=3 * 3600, source="technician"))
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {0}
    [event] = sink.events("lighting.override")
    assert event.data == {"group": "rue", "level": 0, "duration_s": 10800, "source": "technician"}
    assert "held at 0 % for 3 h 00 min (by technician)" in event.message
    stop(rules)  # power cut at 20:00; back at 21:30

    clock = FakeClock(at(21, 30))
    rules, sink, port = boot(db, clock)
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {0}, "the restart must not light the street the technician switched off"
    status = rules.groups_status()[0]
    assert status["source"] == "override"
    assert status["override"] == {"level": 0, "source": "technician", "remaining_s": 5400}
    clock.advance(5400)  # 23:00: the override's end, on the wall clock of its first life
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {40}
    assert len(sink.events("lighting.override_expired")) == 1
    assert saved_groups(db) == []
    stop(rules)


def test_an_override_that_ended_while_the_agent_was_stopped_is_not_resumed(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    rules, _, _ = boot(db, FakeClock(at(20, 0)))
    asyncio.run(rules.set_override("rue", 0, duration_s=3600))
    stop(rules)

    rules, sink, port = boot(db, FakeClock(at(23, 30)))
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {40}
    [expired] = sink.events("lighting.override_expired")
    assert "while the agent was stopped" in expired.message
    assert saved_groups(db) == []
    stop(rules)


def test_after_a_reboot_without_clock_the_safe_level_holds_until_sync_then_the_override_resumes(
        tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    rules, _, _ = boot(db, FakeClock(at(20, 0)))
    asyncio.run(rules.set_override("rue", 10, duration_s=4 * 3600))  # until 00:00
    stop(rules)

    clock = FakeClock(0.0, synced=False)  # no battery clock: 1970 until NTP answers
    rules, _, port = boot(db, clock)
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {70}
    clock.jump(at(22, 45) - clock.now())
    clock.set_synced(True)
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {10}
    assert rules.groups_status()[0]["override"]["remaining_s"] == 75 * 60
    stop(rules)


def test_a_cleared_override_stays_cleared_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    rules, sink, _ = boot(db, FakeClock(at(20, 0)))
    asyncio.run(rules.set_override("rue", 0))  # until cleared
    asyncio.run(rules.clear_override("rue", source="hypervisor"))
    assert "program resumes (by hypervisor)" in sink.events("lighting.override")[-1].message
    stop(rules)
    assert saved_groups(db) == []

    rules, _, port = boot(db, FakeClock(at(20, 5)))
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {100}
    stop(rules)


def test_an_override_until_cleared_survives_any_number_of_restarts(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    rules, _, _ = boot(db, FakeClock(at(20, 0)))
    asyncio.run(rules.set_override("rue", 55))
    stop(rules)
    for hour in (23, 2, 5):
        rules, _, port = boot(db, FakeClock(at(hour)))
        asyncio.run(rules.tick())
        assert set(port.levels.values()) == {55}
        assert rules.groups_status()[0]["override"] == {"level": 55, "source": "manual", "remaining_s": None}
        stop(rules)


def test_a_new_override_given_before_the_first_tick_wins_over_the_saved_one(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    rules, _, _ = boot(db, FakeClock(at(20, 0)))
    asyncio.run(rules.set_override("rue", 0))
    stop(rules)

    rules, _, port = boot(db, FakeClock(at(21, 0)))
    asyncio.run(rules.set_override("rue", 80, duration_s=600))
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {80}
    stop(rules)


def test_an_unreadable_override_table_leaves_the_lights_to_the_program(tmp_path: Path) -> None:
    """A store whose file cannot hold the overrides table (here: a directory where the file should be) must not
    stop the engine: overrides then live in memory only, and the program runs."""
    db = tmp_path / "store.db"
    db.mkdir()
    rules, _, port = boot(db, FakeClock(at(23, 0)))
    asyncio.run(rules.set_override("rue", 5, duration_s=600))
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {5}
    stop(rules)


def test_an_override_set_before_the_clock_synchronised_gets_its_end_once_it_does(tmp_path: Path) -> None:
    """Set while the clock was unsynchronised, an override has no wall-clock end; once NTP answers, the engine
    gives it one, so that a restart an hour later resumes what is left instead of the whole duration again."""
    db = tmp_path / "store.db"
    clock = FakeClock(0.0, synced=False)
    rules, _, _ = boot(db, clock)
    asyncio.run(rules.set_override("rue", 20, duration_s=2 * 3600))
    asyncio.run(rules.tick())
    clock.advance(600)  # ten minutes held, then NTP steps the clock to 21:00
    clock.jump(at(21, 0) - clock.now())
    clock.set_synced(True)
    asyncio.run(rules.tick())
    stop(rules)

    rules, _, port = boot(db, FakeClock(at(22, 0)))  # restarted an hour later
    asyncio.run(rules.tick())
    assert set(port.levels.values()) == {20}
    assert rules.groups_status()[0]["override"]["remaining_s"] == 50 * 60  # 2 h - 10 min - 1 h
    stop(rules)
