from __future__ import annotations

from edge_agent.backoff import random_share
from edge_agent.modbus.backoff import DeviceHealth


def _health() -> DeviceHealth:
    return DeviceHealth(initial=5, maximum=40, offline_after=3, jitter=lambda: 0.0)


def test_backoff_grows_to_its_cap_and_offline_is_reported_once() -> None:
    health = _health()
    transitions = []
    skips = []
    now = 0.0
    for _ in range(6):
        transitions.append(health.failed(now, "timeout", "no answer"))
        skips.append(health.skip_until - now)
        assert not health.due(now)
        now = health.skip_until
        assert health.due(now)
    assert skips == [5, 10, 20, 40, 40, 40]
    assert transitions == [None, None, "offline", None, None, None]
    assert health.errors["timeout"] == 6


def test_first_answer_brings_it_back_online_once() -> None:
    health = _health()
    assert health.succeeded(0, 100.0) is None  # first contact: no event
    for _ in range(3):
        health.failed(1, "exception", "exception 2")
    assert health.succeeded(2, 101.0) == "online"
    assert health.succeeded(3, 102.0) is None
    assert health.due(3) and health.last_seen == 102.0 and health.consecutive == 0


def test_device_never_seen_goes_offline_after_the_threshold() -> None:
    health = _health()
    results = [health.failed(t, "connect", "refused") for t in range(3)]
    assert results == [None, None, "offline"]


def test_jitter_shortens_the_wait_by_at_most_ten_percent() -> None:
    health = DeviceHealth(initial=10, maximum=10, offline_after=1, jitter=lambda: 1.0)
    health.failed(0, "timeout", "x")
    assert health.skip_until == 9.0


def test_an_answer_starts_the_wait_again_from_the_first() -> None:
    health = _health()
    for t in range(3):
        health.failed(t, "timeout", "x")
    health.succeeded(10, 110.0)
    health.failed(20, "timeout", "x")
    assert health.skip_until == 25


def test_the_default_jitter_spreads_devices_within_the_share() -> None:
    """Without an injected source the shares come from os.urandom (edge_agent/backoff.py): in [0, 1), spread over
    the range, so devices that failed together wait between 90 % and 100 % of the ceiling, not in step."""
    shares = [random_share() for _ in range(2000)]
    assert all(0.0 <= share < 1.0 for share in shares)
    assert len(set(shares)) == len(shares)
    assert [sum(1 for s in shares if k / 4 <= s < (k + 1) / 4) > 350 for k in range(4)] == [True] * 4
    waits = set()
    for _ in range(20):
        health = DeviceHealth(initial=10, maximum=10, offline_after=1)
        health.failed(0, "timeout", "x")
        waits.add(health.skip_until)
    assert all(9.0 <= wait <= 10.0 for wait in waits) and len(waits) == 20
