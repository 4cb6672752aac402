"""The ``edge-agent`` entry point: the daemon straight away, any other command through the typer app."""

from __future__ import annotations

import sys
from typing import Any

# The commands that read the site config compiled, without pydantic (edge_agent/config/compiled.py), as the daemon
# does: the technician's everyday ones and ``config check`` (a fresh compiled form is a valid config: it was
# checked by pydantic with the same code and files). The others validate it with pydantic.
COMPILED = frozenset({"status", "queue", "points", "devices", "decode", "config"})


def main() -> None:
    from edge_agent.cli import daemon, state

    if daemon.wants_daemon(sys.argv[1:]) or (sys.argv[1:2] and sys.argv[1] in COMPILED):
        from edge_agent.config import mode

        mode.use_compiled()
    try:
        if daemon.wants_daemon(sys.argv[1:]):  # the daemon: no CLI framework resident for months
            sys.exit(daemon.main(sys.argv[2:]))
        from edge_agent.cli import quick

        run_quick = quick.runner(sys.argv[1:])  # an everyday command with plain options: no typer either
        if run_quick is not None:
            run_quick()
            return
        from edge_agent.cli.app import app

        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # the reader went away (``| head``): quietly, as click does for typer's commands
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
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
