"""The health verdict, from what the agent or its store says, with the time given."""

from __future__ import annotations

from edge_agent.cli.health_cmd import AgentFacts, judge

NOW = 1_780_000_000.0


def test_never_started_is_unhealthy() -> None:
    healthy, reason = judge(AgentFacts(None, None), NOW, since=None, max_age=60)
    assert not healthy and "never started" in reason


def test_a_start_before_the_restart_does_not_count() -> None:
    healthy, reason = judge(AgentFacts(NOW - 100, NOW - 1), NOW, since=NOW - 10, max_age=60)
    assert not healthy and "no start since" in reason


def test_a_fresh_start_with_recent_commits_is_healthy() -> None:
    healthy, _ = judge(AgentFacts(NOW - 5, NOW - 1), NOW, since=NOW - 10, max_age=60)
    assert healthy


def test_a_start_alone_counts_as_the_last_commit() -> None:
    assert judge(AgentFacts(NOW - 5, None), NOW, since=None, max_age=60)[0]
    assert not judge(AgentFacts(NOW - 500, None), NOW, since=None, max_age=60)[0]


def test_silence_longer_than_max_age_is_unhealthy() -> None:
    healthy, reason = judge(AgentFacts(NOW - 3600, NOW - 120), NOW, since=None, max_age=60)
    assert not healthy and "nothing committed for 120 s" in reason


def test_an_agent_that_answers_live_needs_no_recent_commit() -> None:
    healthy, reason = judge(AgentFacts(NOW - 3600, None, live=True), NOW, since=None, max_age=60)
    assert healthy and "control socket" in reason
    assert not judge(AgentFacts(NOW - 3600, None, live=True), NOW, since=NOW - 10, max_age=60)[0]
