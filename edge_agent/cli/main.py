"""The ``edge-agent`` entry point: the daemon straight away, any other command through the typer app."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    from edge_agent.cli import daemon, state

    try:
        if daemon.wants_daemon(sys.argv[1:]):  # the daemon: no CLI framework resident for months
            sys.exit(daemon.main(sys.argv[2:]))
        from edge_agent.cli.app import app

        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if state.DEBUG:
            raise
        print(f"error: {exc} (run with --debug for details)", file=sys.stderr)
        sys.exit(1)


def __getattr__(name: str) -> Any:
    """``edge_agent.cli.main.app``: the typer app, loaded when asked for (the daemon never asks)."""
    if name == "app":
        from edge_agent.cli.app import app

        return app
    raise AttributeError(name)
