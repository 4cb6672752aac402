"""Hysteresis and minimum duration: noisy readings never make an alarm flap."""

from __future__ import annotations

import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.reading import Reading
from edge_agent.rules.config import Threshold
from edge_agent.rules.thresholds import AlarmChange, Alarms, Hysteresis

BIN = {"kind": "threshold", "name": "bin-full", "device": "bin-*", "point": "fill",
       "raise_above": 80.0, "clear_at": 60.0, "for_s": 0.0}


def rule(**changes: object) -> Threshold:
    return Threshold.model_validate({**BIN, **changes})


def no_command(device: str, point: str) -> int | None:
    return None


def feed(
    alarms: Alarms, values: Sequence[float], *, device: str = "bin-1", every_s: float = 600.0
) -> list[AlarmChange]:
    changes = []
    for n, value in enumerate(values):
        changes.extend(alarms.observe(Reading(device, "fill", value, n * every_s), no_command, dark=False))
    return changes


def test_noise_around_the_raise_threshold_raises_once_and_never_clears() -> None:
    rng = random.Random(5)
    alarms = Alarms([rule()], [], 0.0)
    noisy = [80 + rng.uniform(-15, 15) for _ in range(2000)]  # 65..95: never below the clear threshold
    changes = feed(alarms, noisy)
    assert [c.raised for c in changes] == [True]


def test_a_fill_ramp_with_noise_raises_once_and_clears_once() -> None:
    rng = random.Random(7)
    up = [n / 10 for n in range(1000)]  # 0 to 100 % over a week of readings
    down = [100 - n / 10 for n in range(1000)]
    changes = feed(Alarms([rule()], [], 0.0), [max(0, v + rng.uniform(-8, 8)) for v in up + down])
    assert [c.raised for c in changes] == [True, False]


def test_minimum_duration_ignores_short_spikes() -> None:
    alarms = Alarms([rule(for_s=1800.0)], [], 0.0)
    spikes = [50, 95, 50, 95, 95, 50, 95, 95, 95, 50]  # readings 10 min apart: at most 20 min above 80
    assert feed(alarms, spikes) == []
    assert [c.raised for c in feed(alarms, [95, 95, 95, 95])] == [True]  # 30 min above: raised


def test_raise_below_direction_and_clear_duration() -> None:
    battery = Threshold.model_validate({"kind": "threshold", "name": "low", "point": "fill",
                                        "raise_below": 20.0, "clear_at": 30.0, "clear_for_s": 1200.0})
    alarms = Alarms([battery], [], 0.0)
    changes = feed(alarms, [25, 19, 25, 35, 35, 29, 35, 35, 35])
    assert [(c.raised, c.ts) for c in changes] == [(True, 600.0), (False, 4800.0)]


def test_bad_values_are_counted_and_ignored() -> None:
    alarms = Alarms([rule()], [], 0.0)
    for value in (None, "ERR", float("nan"), float("inf")):
        assert alarms.observe(Reading("bin-1", "fill", value, 0.0), no_command, dark=False) == []
    assert alarms.bad_values == 4


def test_each_device_has_its_own_state() -> None:
    alarms = Alarms([rule()], [], 0.0)
    assert [c.device for c in feed(alarms, [90], device="bin-1") + feed(alarms, [90], device="bin-2")] == [
        "bin-1", "bin-2"]
    assert feed(alarms, [90], device="lamp-1") == []  # not a bin


def test_silent_device_raises_once_and_clears_when_heard() -> None:
    silent = {"kind": "silent", "name": "quiet", "device": "bin-*", "max_silence_s": 3600}
    from edge_agent.rules.config import Silent

    alarms = Alarms([Silent.model_validate(silent)], ["bin-1", "lamp-1"], start=0.0)
    assert alarms.poll(3000.0) == []
    [raised] = alarms.poll(3700.0)
    assert (raised.device, raised.raised) == ("bin-1", True)
    assert alarms.poll(9000.0) == []  # still silent: no repeat
    [cleared] = alarms.observe(Reading("bin-1", "fill", 5.0, 9100.0), no_command, dark=False)
    assert not cleared.raised


def test_door_opened_at_night_only() -> None:
    from edge_agent.rules.config import DoorAtNight

    door = DoorAtNight.model_validate({"kind": "door_at_night", "name": "door", "point": "door_open"})
    alarms = Alarms([door], [], 0.0)
    assert alarms.observe(Reading("cab", "door_open", True, 0.0), no_command, dark=False) == []
    assert alarms.observe(Reading("cab", "door_open", False, 1.0), no_command, dark=False) == []
    [raised] = alarms.observe(Reading("cab", "door_open", True, 2.0), no_command, dark=True)
    assert raised.raised and "door open at night" in raised.message


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=200),
    for_s=st.sampled_from([0.0, 600.0, 1800.0]),
)
def test_alarms_alternate_and_each_change_is_earned(values: list[float], for_s: float) -> None:
    """Whatever the readings: raise and clear alternate; a raise follows for_s above 80; a clear a value below 60."""
    changes = feed(Alarms([rule(for_s=for_s)], [], 0.0), values)
    assert [c.raised for c in changes] == [n % 2 == 0 for n in range(len(changes))]
    for change in changes:
        index = int(change.ts // 600)
        if change.raised:
            run = int(for_s // 600) + 1
            assert all(v > 80 for v in values[index - run + 1: index + 1])
        else:
            assert values[index] < 60


@given(regions=st.lists(st.sampled_from([True, False, None]), max_size=100))
def test_hysteresis_without_durations_follows_the_last_decided_region(regions: list[bool | None]) -> None:
    state = Hysteresis()
    for n, region in enumerate(regions):
        state.update(region, float(n), 0.0, 0.0)
    decided = [r for r in regions if r is not None]
    assert state.active == (bool(decided) and decided[-1])
