"""The control socket at the agent's start, on a loaded gateway: the agent is held between creating the socket file
and listening on it (its listen(2) held up here, as a busy machine would hold it; the real agent runs in this
process).

- The socket's path appears only once the socket accepts: a client that finds it is never refused.
- What the socket answers first already knows the readings committed while it was held: a technician's ``status``
  right after a start shows a device read in the first seconds as read, not as never heard.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from edge_agent.agent import Agent
from edge_agent.config.load import load_config
from edge_agent.control.client import ControlClient
from tests.cli.helpers import count
from tests.support.broker import Broker
from tests.support.site import simulated_devices, write_site

HELD_S = 0.3


def _connect_when_found(path: Path, outcome: list[str], give_up: threading.Event) -> None:
    while not path.exists():
        if give_up.is_set():
            return
        time.sleep(0.001)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        try:
            client.connect(str(path))
            outcome.append("accepted")
        except OSError as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")


async def _run_until_found(config: Path, path: Path) -> list[str]:
    outcome: list[str] = []
    give_up = threading.Event()
    watcher = threading.Thread(target=_connect_when_found, args=(path, outcome, give_up))
    watcher.start()
    stop = asyncio.Event()
    running = asyncio.create_task(Agent(load_config(config)).run(stop))
    try:
        deadline = time.monotonic() + 20
        while not outcome and not running.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        give_up.set()
        await running
        watcher.join()
    return outcome


def hold_listen(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The agent's process is not scheduled for ``seconds`` between binding its control socket and listening."""
    listen = socket.socket.listen

    def held_listen(sock: socket.socket, *args: int) -> None:
        if sock.family == socket.AF_UNIX:
            time.sleep(seconds)
        listen(sock, *args)

    monkeypatch.setattr(socket.socket, "listen", held_listen)


def test_a_client_that_finds_the_socket_is_never_refused(tmp_path: Path, broker: Broker,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    hold_listen(monkeypatch, HELD_S)
    config = write_site(tmp_path, broker_port=broker.port)
    assert asyncio.run(_run_until_found(config, tmp_path / "control.sock")) == ["accepted"]


def _devices_when_found(path: Path, store: Path, seen: list[tuple[int, list[dict[str, object]]]],
                        give_up: threading.Event) -> None:
    """Once the socket is there: the agent's device rows, and the readings of sim-0 committed by then."""
    while not path.exists():
        if give_up.is_set():
            return
        time.sleep(0.001)
    rows = ControlClient(path).call("devices")["devices"]
    seen.append((count(store, "SELECT count(*) FROM records WHERE kind = 0 AND device = 'sim-0'"), rows))


def test_the_first_answer_knows_the_devices_read_while_the_socket_was_starting(
        tmp_path: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    # The socket accepts, but its server starts serving 3 s later while the agent goes on (a slow start); commits
    # every 2 s: the device's first readings are committed meanwhile, and the next commit is most likely still to
    # come when the first request is answered.
    start_server = asyncio.start_unix_server

    async def slow_start(*args: Any, **kwargs: Any) -> asyncio.Server:
        await asyncio.sleep(3.0)
        return await start_server(*args, **kwargs)

    monkeypatch.setattr(asyncio, "start_unix_server", slow_start)
    config = write_site(tmp_path, broker_port=broker.port, devices=simulated_devices(count=1, poll=0.2))
    config.write_text(config.read_text().replace("commit_interval = 0.1", "commit_interval = 2.0"))
    seen: list[tuple[int, list[dict[str, object]]]] = []

    async def run() -> None:
        give_up = threading.Event()
        watcher = threading.Thread(target=_devices_when_found,
                                   args=(tmp_path / "control.sock", tmp_path / "store.db", seen, give_up))
        watcher.start()
        stop = asyncio.Event()
        running = asyncio.create_task(Agent(load_config(config)).run(stop))
        try:
            deadline = time.monotonic() + 30
            while not seen and not running.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            stop.set()
            give_up.set()
            await running
            watcher.join()

    asyncio.run(run())
    assert seen, "the control socket never answered"
    committed, rows = seen[0]
    assert committed > 0, "no reading of sim-0 was committed before the answer: the test proves nothing"
    row = next(row for row in rows if row["name"] == "sim-0")
    assert row["last_seen"] is not None and row["values"], row
