"""``edge-agent run`` (the daemon) and ``edge-agent demo`` (the bundled demo site)."""

from __future__ import annotations

from pathlib import Path

import typer

from edge_agent.cli.output import fail
from edge_agent.config.load import load_config
from edge_agent.errors import ConfigError


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("demo")(demo)


def run(
    config: Path = typer.Option(..., "--config", "-c", help="the site config (TOML)"),
    log_format: str = typer.Option("auto", "--log-format", help="auto, json or console"),
) -> None:
    """Run the agent as a daemon until SIGTERM or SIGINT."""
    from edge_agent.agent import run_forever
    from edge_agent.logs import setup_logging

    setup_logging(log_format)
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        fail("the config is not valid:\n" + "\n".join(exc.problems))
    raise typer.Exit(run_forever(loaded))


def demo(
    config: Path | None = typer.Option(None, "--config", "-c", help="a demo site config (default: the bundled one)"),
    duration: float | None = typer.Option(None, "--duration", help="stop by itself after this many seconds"),
    state_dir: Path = typer.Option(Path("var/demo"), "--state-dir", help="where the demo keeps its store"),
) -> None:
    """Run the agent on the bundled demo site: simulated devices, upstream to the local Mosquitto."""
    from edge_agent.demo.runner import run_demo

    raise typer.Exit(run_demo(config, duration, state_dir))
