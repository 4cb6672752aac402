"""``edge-agent health``: is the agent running and healthy? (exit 0 if so)

The running agent is asked over its control socket first: an answer to ``status`` means its main loop
turns, and says when it started. When the socket does not answer (the agent is down, or runs without its
control socket), the store decides: the agent writes an ``agent_started`` event when it starts and commits
records while it runs. The installer passes ``--since`` (the moment it restarted the service) so that a
previous run does not count.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from edge_agent.cli.output import fail
from edge_agent.config.load import load_config
from edge_agent.config.site import SiteConfig
from edge_agent.errors import ConfigError, EdgeAgentError
from edge_agent.frozen import frozen
from edge_agent.store.series import StoreUnreadable
from edge_agent.store.view import agent_activity

START_EVENT = "agent_started"  # the event the agent commits as it starts


@frozen
class AgentFacts:
    """What is known of the agent: when it last started, when it last committed, whether it answered live."""

    started_at: float | None
    last_commit: float | None
    live: bool = False


def judge(facts: AgentFacts, now: float, *, since: float | None, max_age: float) -> tuple[bool, str]:
    """Healthy when the agent started (after ``since``) and either answers live or committed within ``max_age``."""
    if facts.started_at is None:
        return False, "the agent has never started with this store"
    if since is not None and facts.started_at < since:
        return False, f"no start since {_iso(since)} (last start {_iso(facts.started_at)})"
    if facts.live:
        return True, f"running since {_iso(facts.started_at)}, answering on its control socket"
    last = facts.last_commit if facts.last_commit is not None else facts.started_at
    age = now - last
    if age > max_age:
        return False, f"nothing committed for {age:.0f} s (limit {max_age:.0f} s)"
    return True, f"started {_iso(facts.started_at)}, last commit {max(age, 0.0):.1f} s ago (from the store)"


def ask_agent(socket_path: Path, timeout: float) -> AgentFacts | None:
    """The running agent's own word, or None when nothing answers on its control socket."""
    from edge_agent.control.client import ControlClient

    try:
        reply = ControlClient(socket_path, timeout).call("status")
    except (EdgeAgentError, OSError, ValueError):
        return None
    started = reply.get("agent", {}).get("started_at")
    return AgentFacts(started_at=float(started), last_commit=None, live=True) if started is not None else None


def read_store(db: Path) -> AgentFacts:
    """Read the store as a separate read-only view; StoreUnreadable if it cannot be."""
    started, last = agent_activity(db, START_EVENT)
    return AgentFacts(started_at=started, last_commit=last)


def gather(config: SiteConfig, timeout: float) -> AgentFacts:
    facts = ask_agent(config.control.socket, timeout)
    if facts is not None:
        return facts
    try:
        return read_store(config.store.path)
    except StoreUnreadable as exc:
        fail(f"unhealthy: the agent does not answer on {config.control.socket} and the store cannot be read: {exc}")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def health(
    config: Path = typer.Option(..., "--config", "-c", help="the site config (TOML)"),
    since: float | None = typer.Option(None, "--since", help="the agent must have started after this Unix time"),
    max_age: float = typer.Option(
        300.0, "--max-age", help="without the control socket: the agent must have committed within this many seconds"
    ),
    timeout: float = typer.Option(5.0, "--timeout", help="seconds to wait for the agent's answer"),
) -> None:
    """Exit 0 when the agent is running and healthy; otherwise say why and exit 1."""
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        fail("the config is not valid:\n" + "\n".join(exc.problems))
    healthy, reason = judge(gather(loaded.config, timeout), time.time(), since=since, max_age=max_age)
    if not healthy:
        fail(f"unhealthy: {reason}")
    typer.echo(f"healthy: {reason}")


def register(app: typer.Typer) -> None:
    app.command("health")(health)
