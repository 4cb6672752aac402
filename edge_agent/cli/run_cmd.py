"""``edge-agent run`` (the daemon) and ``edge-agent demo`` (the bundled demo site)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("demo")(demo)


# ``edge-agent run`` itself is read by edge_agent.cli.daemon, without typer; this command gives its --help (keep the
# two alike) and serves the app inside a test.
def run(
    config: Path = typer.Option(..., "--config", "-c", help="the site config (TOML)"),
    log_format: str = typer.Option("auto", "--log-format", help="auto, json or console"),
) -> None:
    """Run the agent as a daemon until SIGTERM or SIGINT."""
    from edge_agent.cli.daemon import run_daemon

    raise typer.Exit(run_daemon(config, log_format))


def demo(
    config: Path | None = typer.Option(None, "--config", "-c", help="a demo site config (default: the bundled one)"),
    duration: float | None = typer.Option(None, "--duration", help="stop by itself after this many seconds"),
    state_dir: Path = typer.Option(Path("var/demo"), "--state-dir", help="where the demo keeps its store"),
) -> None:
    """Run the agent on the bundled demo site: simulated devices, upstream to the local Mosquitto."""
    from edge_agent.demo.runner import run_demo

    raise typer.Exit(run_demo(config, duration, state_dir))
