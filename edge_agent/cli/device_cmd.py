"""``edge-agent read`` and ``edge-agent write``: one reading or one write on a device, through the agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from edge_agent.cli import offline, render
from edge_agent.cli.access import agent_client, call, config_option, json_option, load_site, require_agent
from edge_agent.cli.output import fail, print_json
from edge_agent.config.load import LoadedConfig


def parse_value(text: str) -> bool | int | float | str:
    """``on``/``true`` → True, ``off``/``false`` → False, then an integer, a number, else the text itself."""
    lowered = text.strip().lower()
    if lowered in ("on", "true", "yes"):
        return True
    if lowered in ("off", "false", "no"):
        return False
    for kind in (int, float):
        try:
            return kind(lowered)
        except ValueError:
            continue
    return text


def _stored(loaded: LoadedConfig, device: str) -> dict[str, Any]:
    view = offline.connect(loaded.config.store.path)
    try:
        seen = offline.last_values(view).get(device, {"values": {}})
    finally:
        view.close()
    readings = [{"type": "reading", "device": device, "point": point, **v} for point, v in seen["values"].items()]
    return {"ok": True, "device": device, "live": False,
            "note": "the agent is not running: last values from the store", "readings": readings}


def read(
    device: str = typer.Argument(..., help="the device's name in the config"),
    config: Path = config_option(),
    as_json: bool = json_option(),
) -> None:
    """Read a device now, through the agent (last stored values when the agent is not running)."""
    loaded = load_site(config)
    if device not in {d.name for d in loaded.config.devices}:
        fail(f"no device named '{device}' in {config}")
    client = agent_client(loaded)
    result = call(client, "read", device=device) if client is not None else _stored(loaded, device)
    if as_json:
        print_json(result)
        return
    if result.get("note"):
        typer.echo(f"({result['note']})")
    if not result["readings"]:
        typer.echo(f"no values from {device} yet")
        return
    rows = [[r["point"], render.value(r["value"]), r["unit"] or "", r["quality"], render.iso(r["ts"])]
            for r in result["readings"]]
    typer.echo("\n".join(render.table(["POINT", "VALUE", "UNIT", "QUALITY", "READ AT"], rows)))


def write(
    device: str = typer.Argument(..., help="the device's name in the config"),
    point: str = typer.Argument(..., help="the point (Modbus) or command (LoRaWAN downlink)"),
    value: str = typer.Argument(..., help="a number, or on/off"),
    *,
    config: Path = config_option(),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    as_json: bool = json_option(),
) -> None:
    """Write one value to a device through the running agent; asks first unless --yes."""
    loaded = load_site(config)
    client = require_agent(loaded, "write to a device")
    parsed = parse_value(value)
    if not yes and not typer.confirm(f"Write {render.value(parsed)} to {point} of {device}?", default=False):
        fail("nothing written")
    result = call(client, "write", device=device, point=point, value=parsed)
    if as_json:
        print_json(result)
        return
    if "downlink" in result:
        ticket = result["downlink"]
        typer.echo(f"downlink {ticket['id']} to {device}: {point}={render.value(parsed)} is {ticket['status']}")
        return
    typer.echo(f"written: {device} {point} = {render.value(parsed)} (read back {render.value(result['read_back'])})")


def register(app: typer.Typer) -> None:
    app.command("read")(read)
    app.command("write")(write)
