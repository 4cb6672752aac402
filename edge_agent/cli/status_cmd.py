"""``edge-agent status``: is the agent running, is data leaving, and how is each device doing."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_agent.cli import render
from edge_agent.cli.access import DEFAULT_CONFIG, agent_client, call, load_site
from edge_agent.cli.output import echo, fail, print_json

if TYPE_CHECKING:  # loaded when the command runs, not for its --help
    from edge_agent.config.load import LoadedConfig
    from edge_agent.config.site import SiteConfig


def gather(loaded: LoadedConfig) -> dict[str, Any]:
    """The status from the running agent, or from the store when it does not run."""
    from edge_agent.store.series import StoreUnreadable

    client = agent_client(loaded)
    if client is not None:
        return call(client, "status")
    try:
        return stopped_status(loaded.config)
    except StoreUnreadable as exc:
        fail(str(exc))


def stopped_status(config: SiteConfig) -> dict[str, Any]:
    """The ``status`` reply's shape, read from the store (StoreUnreadable if it cannot be)."""
    from edge_agent.cli import offline
    from edge_agent.clock import kernel_clock_synced
    from edge_agent.control import inventory
    from edge_agent.control.facts import disk_json, merge_device
    from edge_agent.store.view import StoreView

    with StoreView.open(config.store.path) as view:
        box = offline.outbox(view, config.store.max_bytes)
        heard = offline.last_values(view)
    devices = []
    for device in config.devices:
        seen = heard.get(device.name, {"last_seen": None, "values": {}})
        devices.append(merge_device(inventory.device_row(device), last_seen=seen["last_seen"], values=seen["values"],
                                    online=None, errors=0, last_error=None))
    return {"ok": True, "agent": {"running": False, "gateway_id": config.gateway_id,
                                  "clock_synced": kernel_clock_synced()},
            "upstream": None, "outbox": box, "disk": disk_json(config.store.path), "devices": devices}


def summary_lines(status: dict[str, Any], now: float) -> list[str]:
    agent, box, disk, upstream = status["agent"], status["outbox"], status["disk"], status["upstream"]
    if agent["running"]:
        running = f"running for {render.duration(agent['uptime_s'])} (pid {agent['pid']}, {agent['version']})"
    else:
        running = "NOT RUNNING (figures read from the store)"
    if upstream is None:
        link = "unknown (the agent is not running)"
    elif upstream["connected"]:
        link = f"connected to {upstream['host']}:{upstream['port']} since {render.iso(upstream['connected_since'])}"
    else:
        link = f"DISCONNECTED from {upstream['host']}:{upstream['port']}"
    backlog = f"{box['backlog']} records not yet sent"
    if box["oldest_pending_ts"] is not None:
        backlog += f", oldest from {render.ago(box['oldest_pending_ts'], now)}"
    synced = {True: "synchronised", False: "NOT synchronised (timestamps are flagged)", None: "unknown"}
    free = disk.get("free_bytes")
    space = f"{render.size(free)} free of {render.size(disk['total_bytes'])}" if free is not None else disk["error"]
    reason = []
    if upstream and not upstream["connected"]:  # the whole reason, wrapped: it says what to fix
        why = upstream.get("problem") or upstream["last_disconnect_reason"] or ""
        reason = [("", line) for line in textwrap.wrap(why, render.WIDTH - 10)]
    return render.key_values([
        ("gateway", agent["gateway_id"]), ("agent", running), ("upstream", link), *reason, ("backlog", backlog),
        ("dropped", f"{box['dropped']} readings dropped (store full), {box['set_aside']} set aside"),
        ("clock", synced[agent["clock_synced"]]),
        ("disk", f"{space}; store {render.size(box['used_bytes'])} of {render.size(box['max_bytes'])}"),
    ])


def device_lines(devices: list[dict[str, Any]], now: float) -> list[str]:
    state = {True: "online", False: "OFFLINE", None: "?"}
    rows = []
    for device in devices:
        ordered = sorted(device["values"].items(), key=lambda item: "." in item[0])  # metadata (lorawan.rssi) last
        values = " ".join(f"{point}={render.value(v['value'], 4)}{v['unit'] or ''}" for point, v in ordered)
        rows.append([device["name"], device["driver"], state[device["online"]], render.ago(device["last_seen"], now),
                     str(device["errors"]), values or "-"])
    return render.table(["DEVICE", "TYPE", "STATE", "LAST SEEN", "ERR", "LAST VALUES"], rows)


def show_status(config: Path = DEFAULT_CONFIG, as_json: bool = False) -> None:
    """Agent running or not, upstream link, backlog, clock, disk, then one row per device."""
    loaded = load_site(config)
    result = gather(loaded)
    if as_json:
        print_json(result)
        return
    now = time.time()
    echo("\n".join(summary_lines(result, now)))
    echo("")
    echo("\n".join(device_lines(result["devices"], now)) if result["devices"] else "no devices configured")


def register(app: Any) -> None:
    from edge_agent.cli.access import config_option, json_option

    def status(config: Path = config_option(), as_json: bool = json_option()) -> None:
        show_status(config, as_json)

    status.__doc__ = show_status.__doc__  # typer's help: the one text
    app.command("status")(status)
