"""Running totals into what was counted: resets, rollovers, glitches, rounding and gaps, each said."""

from __future__ import annotations

import pytest

from edge_agent.reports.counters import track


def test_a_steady_counter_counts_its_rises_and_interpolates_between_readings() -> None:
    counted = track([(0.0, 10.0), (100.0, 12.0), (200.0, 16.0)])
    assert counted.between(0.0, 200.0) == 6.0
    assert counted.between(50.0, 150.0) == pytest.approx(1.0 + 2.0)  # half of each step
    assert counted.between(-50.0, 0.0) == 0.0 and counted.issues == []
    assert counted.covered(-100.0, 300.0) == 200.0


def test_a_reset_counts_the_value_after_it_and_is_said() -> None:
    counted = track([(0.0, 500.0), (10.0, 501.0), (20.0, 0.5), (30.0, 1.5)])
    assert counted.between(0.0, 30.0) == 1.0 + 0.5 + 1.0
    [issue] = counted.issues
    assert (issue.kind, issue.since, issue.ts, issue.before, issue.after, issue.counted) == \
        ("reset", 10.0, 20.0, 501.0, 0.5, 0.5)


def test_a_rollover_counts_across_the_wrap() -> None:
    counted = track([(0.0, 4_294_960.0), (10.0, 4_294_967.0), (20.0, 3.0)], rollover_at=4_294_967.295)
    assert counted.between(0.0, 20.0) == pytest.approx(7.0 + 0.295 + 3.0)
    assert [issue.kind for issue in counted.issues] == ["rollover"]


def test_a_fall_far_from_the_wrap_is_a_reset_even_with_a_rollover_value() -> None:
    counted = track([(0.0, 1000.0), (10.0, 2.0)], rollover_at=4_294_967.295)
    assert [issue.kind for issue in counted.issues] == ["reset"] and counted.between(0.0, 10.0) == 2.0


def test_a_single_low_reading_is_a_glitch_left_out() -> None:
    counted = track([(0.0, 100.0), (10.0, 0.0), (20.0, 101.0)])
    assert counted.between(0.0, 20.0) == 1.0
    assert [issue.kind for issue in counted.issues] == ["glitch"]


def test_float_rounding_is_neither_a_reset_nor_counted() -> None:
    counted = track([(0.0, 48210.0), (10.0, 48209.996), (20.0, 48210.5)], jitter=0.005)
    assert counted.between(0.0, 20.0) == pytest.approx(0.5) and counted.issues == []


def test_a_gap_is_said_and_what_it_counted_spread_over_it() -> None:
    counted = track([(0.0, 0.0), (7200.0, 10.0), (7300.0, 11.0)], max_gap_s=3600.0)
    [gap] = counted.issues
    assert (gap.kind, gap.since, gap.ts, gap.counted) == ("gap", 0.0, 7200.0, 10.0)
    assert counted.between(0.0, 3600.0) == 5.0
    assert counted.issues_in(3000.0, 4000.0) == [gap]


def test_repeated_instants_add_nothing() -> None:
    assert track([(0.0, 1.0), (0.0, 5.0), (10.0, 2.0)]).between(0.0, 10.0) == 1.0
