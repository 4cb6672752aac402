"""The ``edge-agent`` command line as a typer app (see main.py for the entry point).

Each command's module is imported only when that command runs (or its own ``--help`` is shown): ``edge-agent
--help`` lists the commands from the table below, and ``edge-agent status`` loads the status command alone, not
the web page, the reports or the Modbus tools. Help and errors are plain text (no rich panels): a technician's
command answers in a fraction of a second and a few tens of MB on a Pi-class gateway.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup
from typer.main import get_group

from edge_agent import __version__

# name -> (module that defines it, its one-line help as ``edge-agent --help`` lists it; a test keeps them equal)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run_cmd", "Run the agent as a daemon until SIGTERM or SIGINT."),
    "demo": ("run_cmd", "Run the agent on the bundled demo site: simulated devices, upstream to the local Mosquitto."),
    "status": ("status_cmd", "Agent running or not, upstream link, backlog, clock, disk, then one row per device."),
    "health": ("health_cmd", "Exit 0 when the agent is running and healthy; otherwise say why and exit 1."),
    "devices": ("inventory_cmd", "Every configured device: driver, model, address, and its state when the agent runs."),
    "points": ("inventory_cmd",
               "Every point of every device (or of one): unit, register or source, writable, last value."),
    "tail": ("tail_cmd", "Print readings and events as they arrive (Ctrl-C to stop)."),
    "read": ("device_cmd", "Read a device now, through the agent (last stored values when the agent is not running)."),
    "write": ("device_cmd", "Write one value to a device through the running agent; asks first unless --yes."),
    "queue": ("queue_cmd", "What waits in the outbox, how old it is, and what was given up."),
    "sync": ("queue_cmd", "Wake the uplink and follow the backlog until it is empty (needs the running agent)."),
    "export": ("export_cmd",
               "Export readings kept in the local store, with a progress bar (on the terminal, not in the data)."),
    "doctor": ("doctor_cmd",
               "Check serial ports, brokers, TLS, ChirpStack, clock, disk, database, config and the daemon's bytecode; "
               "say what to fix."),
    "decode": ("decode_cmd",
               "Print a payload decoded by a device codec as JSON; --event decodes a captured ChirpStack event."),
    "config": ("config_cmd", "Check and inspect site configs."),
    "drivers": ("drivers_cmd", "List the device drivers the site can use; check a driver file added on site."),
    "modbus": ("modbus_cmd", "Modbus field tools: scan a line, read a device."),
    "lighting": ("lighting_cmd",
                 "Lighting groups: their level and why; hold a group at a level for a while; resume."),
    "schedule": ("schedule_cmd", "Show the lighting programs' plans."),
    "report": ("report_cmd", "Reports computed from the local store: lighting energy, bins, counts."),
    "web": ("web_cmd", "The installer's page: devices, signal, lighting and events in a browser."),
    "ingest": ("ingest_cmd", "The reference hypervisor ingest: MQTT shared subscription → PostgreSQL."),
}


def load_command(name: str) -> Any:
    """The (click) command ``name``, built from its module (imported now): ``register(app)``, or a group's ``app``."""
    module = importlib.import_module(f"edge_agent.cli.{COMMANDS[name][0]}")
    holder = typer.Typer(rich_markup_mode=None)
    register = getattr(module, "register", None)
    if register is not None:
        register(holder)
    else:
        holder.add_typer(module.app, name=name)
    return get_group(holder).commands[name]


class LazyCommands(TyperGroup):
    """The root group: lists the table's commands and loads one when it is invoked.

    (Typed loosely: typer carries its own copy of click's classes, which differ from one typer version to another.)
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_module, text) in COMMANDS.items()])


app = typer.Typer(
    cls=LazyCommands,
    help="edge-agent: the commune gateway's agent (Modbus, LoRaWAN, local rules, upstream sync).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


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
