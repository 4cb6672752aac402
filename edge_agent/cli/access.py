"""How every technician command reaches the agent: the config, the control socket, or the store read-only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_agent.cli.output import fail
from edge_agent.errors import ConfigError, EdgeAgentError

if TYPE_CHECKING:  # loaded when a command runs, not for its --help
    from edge_agent.config.load import LoadedConfig
    from edge_agent.control.client import ControlClient

DEFAULT_CONFIG = Path("/etc/edge-agent/site.toml")

CONFIG_HELP = "the site config (TOML)"
JSON_HELP = "print JSON instead of text"


def config_option() -> Any:
    """``--config``, as typer declares it (typer is imported by the commands it runs, not by cli/quick.py's)."""
    import typer

    return typer.Option(DEFAULT_CONFIG, "--config", "-c", help=CONFIG_HELP)


def json_option() -> Any:
    import typer

    return typer.Option(False, "--json", help=JSON_HELP)


def load_site(path: Path) -> LoadedConfig:
    """The validated config, or a plain error listing its problems."""
    from edge_agent.config.load import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        fail("the config is not valid:\n  " + "\n  ".join(exc.problems))


def agent_client(loaded: LoadedConfig) -> ControlClient | None:
    """A client of the running agent, or None when it does not run."""
    from edge_agent.control.client import running_agent

    try:
        return running_agent(loaded.config.control.socket)
    except EdgeAgentError as exc:  # e.g. no permission on the socket
        fail(str(exc))


def require_agent(loaded: LoadedConfig, what: str) -> ControlClient:
    client = agent_client(loaded)
    if client is None:
        fail(f"the agent is not running, so it cannot {what}; start it with"
             " 'sudo systemctl start edge-agent' and try again")
    return client


def call(client: ControlClient, op: str, **args: Any) -> dict[str, Any]:
    """One request; the agent's refusal becomes a plain error line."""
    try:
        return client.call(op, **args)
    except EdgeAgentError as exc:
        fail(str(exc))
