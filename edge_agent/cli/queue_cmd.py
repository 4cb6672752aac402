"""``edge-agent queue`` (outbox figures) and ``edge-agent sync --now`` (drain the backlog, with progress)."""

from __future__ import annotations

import io
import itertools
import sys
from pathlib import Path
from typing import Any

from edge_agent.cli import offline, render
from edge_agent.cli.access import DEFAULT_CONFIG, agent_client, call, load_site, require_agent
from edge_agent.cli.output import echo, fail, print_json
from edge_agent.errors import EdgeAgentError


def show_queue(config: Path = DEFAULT_CONFIG, as_json: bool = False) -> None:
    """What waits in the outbox, how old it is, and what was given up."""
    loaded = load_site(config)
    client = agent_client(loaded)
    if client is not None:
        result = call(client, "queue")
    else:
        view = offline.connect(loaded.config.store.path)
        try:
            result = {"ok": True, "outbox": offline.outbox(view, loaded.config.store.max_bytes), "upstream": None}
        finally:
            view.close()
    if as_json:
        print_json(result)
        return
    echo("\n".join(queue_lines(result["outbox"], result["upstream"])))


def queue_lines(box: dict[str, Any], upstream: dict[str, Any] | None) -> list[str]:
    pairs = [
        ("readings waiting", str(box["pending_readings"])),
        ("events waiting", str(box["pending_events"])),
        ("oldest waiting", render.ago(box["oldest_pending_ts"]) if box["oldest_pending_ts"] else "-"),
        ("last sequence", str(box["last_seq"])),
        ("dropped", f"{box['dropped']} (oldest routine readings, when the store was full)"),
        ("set aside", f"{box['set_aside']} (records the broker could not take)"),
        ("store size", f"{render.size(box['used_bytes'])} of {render.size(box['max_bytes'])}"),
    ]
    if upstream is None:
        pairs.append(("upstream", "unknown: the agent is not running"))
    else:
        pairs += [("upstream", "connected" if upstream["connected"] else "DISCONNECTED"),
                  ("sent / acked", f"{upstream['records_sent']} / {upstream['records_acked']} since start"),
                  ("batches in flight", str(upstream["inflight_batches"]))]
    return render.key_values(pairs)


def drain(config: Path, now: bool, timeout: float, as_json: bool) -> None:
    """Wake the uplink and follow the backlog until it is empty (needs the running agent)."""
    if not now:
        fail("say --now to drain the backlog now (the agent sends it by itself otherwise)")
    loaded = load_site(config)
    client = require_agent(loaded, "send its backlog")
    stream = client.stream("sync", {"timeout": timeout, "interval": 0.3}, idle_timeout=30.0)
    try:
        first = next(stream)
        last = _follow(stream, first, quiet=as_json)
    except EdgeAgentError as exc:
        fail(str(exc))
    if as_json:
        print_json(last)
    elif last["done"]:
        echo(f"backlog sent: {last['start']} records waiting at the start, none left")
    if not last["done"]:
        why = "" if last["connected"] else ": the upstream broker is not connected (see 'edge-agent doctor')"
        fail(f"{last['backlog']} records still waiting after {timeout:g} s{why}")


def _follow(stream: Any, first: dict[str, Any], *, quiet: bool) -> dict[str, Any]:
    import typer  # its progress bar: sync runs through typer (cli/quick.py runs queue alone)

    last = first
    total = max(first["start"], 1)
    with typer.progressbar(length=total, label="sending backlog", file=io.StringIO() if quiet else sys.stderr,
                           show_pos=True) as bar:
        sent = 0
        for update in itertools.chain([first], stream):
            last = update
            progress = min(max(update["start"] - update["backlog"], 0), total)
            bar.update(progress - sent)
            sent = progress
            if update["end"]:
                break
    return last


def register(app: Any) -> None:
    import typer

    from edge_agent.cli.access import config_option, json_option

    def queue(config: Path = config_option(), as_json: bool = json_option()) -> None:
        show_queue(config, as_json)

    def sync(
        config: Path = config_option(),
        now: bool = typer.Option(False, "--now", help="drain the backlog now and show the progress"),
        timeout: float = typer.Option(600.0, "--timeout", help="give up waiting after this many seconds"),
        as_json: bool = typer.Option(False, "--json", help="print the final figures as JSON"),
    ) -> None:
        drain(config, now, timeout, as_json)

    queue.__doc__, sync.__doc__ = show_queue.__doc__, drain.__doc__  # typer's help: the one text
    app.command("queue")(queue)
    app.command("sync")(sync)
