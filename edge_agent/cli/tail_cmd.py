"""``edge-agent tail``: readings and events as they are committed, optionally of one device."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from edge_agent.cli import offline, render
from edge_agent.cli.access import agent_client, config_option, load_site
from edge_agent.cli.output import fail
from edge_agent.config.load import LoadedConfig
from edge_agent.control.client import ControlClient
from edge_agent.errors import EdgeAgentError

POLL = 0.5  # seconds between looks at the store when the agent's socket is not there


def line(item: dict[str, Any]) -> str:
    """One record on one line of at most 80 columns."""
    when = render.clock(item["ts"])
    if item["type"] == "reading":
        unit = f" {item['unit']}" if item.get("unit") else ""
        flag = "" if item["quality"] == "good" else f" [{item['quality']}]"
        return render.fit(f"{when}  {item['device']:<14} {item['point']:<16} {render.value(item['value'])}{unit}{flag}")
    mark = "!" if item["priority"] in ("warning", "alarm", "critical") else "*"
    device = item["device"] or "(gateway)"
    return render.fit(f"{when}{mark} {device:<14} {item['kind']}: {item['message']}")


def _show(item: dict[str, Any], as_json: bool) -> None:
    typer.echo(json.dumps(item, default=str) if as_json else line(item))


def _from_agent(client: ControlClient, device: str | None, count: int | None, as_json: bool) -> None:
    stream = client.stream("tail", {"device": device} if device else {}, idle_timeout=None)
    next(stream)  # the agent's "streaming" acknowledgement
    for shown, reply in enumerate(stream, start=1):
        _show(reply["record"], as_json)
        if count is not None and shown >= count:
            return
    fail("the agent closed the stream (it stopped, or this terminal could not keep up)")


def _from_store(loaded: LoadedConfig, device: str | None, count: int | None, as_json: bool) -> None:
    typer.echo("(the agent is not running: following the store; new records appear if it starts)", err=True)
    view = offline.connect(loaded.config.store.path)
    seq, shown = view.last_seq(), 0
    try:
        while count is None or shown < count:
            items = offline.after(view, seq, device)
            for item in items[: None if count is None else count - shown]:
                _show(item, as_json)
                shown += 1
            seq = items[-1]["seq"] if items else seq
            if not items:
                time.sleep(POLL)
    finally:
        view.close()


def tail(
    config: Path = config_option(),
    device: str | None = typer.Option(None, "--device", "-d", help="only this device"),
    count: int | None = typer.Option(None, "--count", "-n", help="stop after this many records"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line"),
) -> None:
    """Print readings and events as they arrive (Ctrl-C to stop)."""
    loaded = load_site(config)
    if device is not None and device not in {d.name for d in loaded.config.devices}:
        fail(f"no device named '{device}' in {config}")
    client = agent_client(loaded)
    try:
        if client is not None:
            _from_agent(client, device, count, as_json)
        else:
            _from_store(loaded, device, count, as_json)
    except EdgeAgentError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    app.command("tail")(tail)
