"""The gap decisions of the ingest (pure)."""

from __future__ import annotations

from edge_agent.hypervisor.gaps import Gap, ReplayPolicy, decide, holes_between, tail_hole

POLICY = ReplayPolicy(grace=10, retry_after=60, max_attempts=3, max_per_tick=2)


def gap(gateway: str = "gw", first: int = 5, last: int = 9, *, found: float = 0.0,
        requested: float | None = None, attempts: int = 0) -> Gap:
    return Gap(gateway, first, last, found, requested, attempts)


def test_holes_between_counts_from_the_known_complete_prefix() -> None:
    assert holes_between([3, 4, 7, 10], after=0) == [(1, 2), (5, 6), (8, 9)]
    assert holes_between([11, 12], after=10) == []
    assert holes_between([], after=10) == []


def test_tail_hole_only_when_the_gateway_says_it_has_no_backlog() -> None:
    assert tail_hole(100, 120, 0) == (101, 120)
    assert tail_hole(100, 120, 5) is None
    assert tail_hole(100, 100, 0) is None
    assert tail_hole(100, None, 0) is None


def test_a_young_gap_waits_for_its_grace_period() -> None:
    assert decide([gap(found=95.0)], 100.0, POLICY, set()).request == []
    assert decide([gap(found=85.0)], 100.0, POLICY, set()).request == [gap(found=85.0)]


def test_no_request_while_the_gateway_drains_a_backlog() -> None:
    assert decide([gap()], 100.0, POLICY, {"gw"}).request == []


def test_retry_after_the_wait_then_give_up() -> None:
    asked = gap(requested=80.0, attempts=1)
    assert decide([asked], 100.0, POLICY, set()).request == []
    assert decide([asked], 141.0, POLICY, set()).request == [asked]
    hopeless = gap(requested=0.0, attempts=3)
    decision = decide([hopeless], 100.0, POLICY, set())
    assert decision.request == [] and decision.abandon == [hopeless]


def test_rate_limit_one_per_gateway_and_a_fleet_wide_cap_oldest_first() -> None:
    gaps = [gap("a", 1, 2, found=3.0), gap("a", 5, 6, found=1.0), gap("b", 1, 1, found=2.0), gap("c", 1, 1)]
    chosen = decide(gaps, 100.0, POLICY, set()).request
    assert [(g.gateway, g.first) for g in chosen] == [("c", 1), ("a", 5)]
