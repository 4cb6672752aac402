"""The ``edge-agent`` command line."""

from __future__ import annotations

import sys

import typer

from edge_agent import __version__
from edge_agent.cli import (
    config_cmd,
    decode_cmd,
    drivers_cmd,
    health_cmd,
    ingest_cmd,
    lighting_cmd,
    modbus_cmd,
    report_cmd,
    run_cmd,
    schedule_cmd,
    web_cmd,
)
from edge_agent.cli.technician import register_commands as register_technician_commands

app = typer.Typer(
    help="edge-agent: the commune gateway's agent (Modbus, LoRaWAN, local rules, upstream sync).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(modbus_cmd.app, name="modbus")
app.add_typer(schedule_cmd.app, name="schedule")
app.add_typer(lighting_cmd.app, name="lighting")
app.add_typer(ingest_cmd.app, name="ingest")
app.add_typer(web_cmd.app, name="web")
app.add_typer(drivers_cmd.app, name="drivers")
report_cmd.register(app)
run_cmd.register(app)
decode_cmd.register(app)
health_cmd.register(app)
register_technician_commands(app)  # status, devices, points, tail, read, write, queue, sync, export, doctor


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edge-agent {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version"),
    debug: bool = typer.Option(False, "--debug", help="show Python tracebacks on errors"),
) -> None:
    from edge_agent.cli import state

    state.DEBUG = debug


def main() -> None:
    from edge_agent.cli import state

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if state.DEBUG:
            raise
        typer.echo(f"error: {exc} (run with --debug for details)", err=True)
        sys.exit(1)
