"""``edge-agent devices`` and ``edge-agent points``: the inventory as the config and the drivers see it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_agent.cli import render
from edge_agent.cli.access import DEFAULT_CONFIG, agent_client, call, load_site
from edge_agent.cli.output import echo, fail, print_json


def show_devices(config: Path = DEFAULT_CONFIG, as_json: bool = False) -> None:
    """Every configured device: driver, model, address, and its state when the agent runs."""
    from edge_agent.control import inventory

    loaded = load_site(config)
    client = agent_client(loaded)
    rows = call(client, "devices")["devices"] if client is not None else inventory.devices(loaded.config)
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo("no devices configured")
        return
    state = {True: "online", False: "OFFLINE", None: "?"}
    lines = render.table(
        ["DEVICE", "TYPE", "MODEL", "STATE", "ADDRESS"],
        [[r["name"], r["driver"], r["model"], state[r.get("online")] if client else "-", r["address"]] for r in rows],
    )
    echo("\n".join(lines))
    if client is None:
        echo("(the agent is not running: states unknown)")


def show_points(config: Path = DEFAULT_CONFIG, device: str | None = None, as_json: bool = False) -> None:
    """Every point of every device (or of one): unit, register or source, writable, last value."""
    from edge_agent.control import inventory

    loaded = load_site(config)
    client = agent_client(loaded)
    if client is not None:
        rows: list[dict[str, Any]] = call(client, "points", **({"device": device} if device else {}))["points"]
    else:
        try:
            rows = inventory.all_points(loaded.config, device)
        except KeyError as exc:
            fail(str(exc.args[0]))
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo("no points known (a LoRaWAN device's points appear once it has been heard)")
        return
    table = [[r["device"], r["point"], r["unit"] or "-", r["where"], "yes" if r["writable"] else "no",
              _last(r.get("last"))] for r in rows]
    echo("\n".join(render.table(["DEVICE", "POINT", "UNIT", "SOURCE", "WRITE", "LAST"], table)))


def _last(last: dict[str, Any] | None) -> str:
    return "-" if not last else f"{render.value(last['value'])} ({render.ago(last['ts'])})"


def register(app: Any) -> None:
    import typer

    from edge_agent.cli.access import config_option, json_option

    def devices(config: Path = config_option(), as_json: bool = json_option()) -> None:
        show_devices(config, as_json)

    def points(
        config: Path = config_option(),
        device: str | None = typer.Option(None, "--device", "-d", help="only this device"),
        as_json: bool = json_option(),
    ) -> None:
        show_points(config, device, as_json)

    devices.__doc__, points.__doc__ = show_devices.__doc__, show_points.__doc__  # typer's help: the one text
    app.command("devices")(devices)
    app.command("points")(points)
