"""The control socket at the agent's start, on a loaded gateway (the real agent runs in this process):

- its listen(2) held up, as a busy machine would hold it between creating the socket file and listening on it: the
  socket's path appears only once the socket accepts, so a client that finds it is never refused;
- its server started late while the agent goes on: the first answer already knows the readings committed
  meanwhile, so a technician's ``status`` right after a start shows a device read in the first seconds as read,
  not as never heard.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from edge_agent.agent import Agent
from edge_agent.config.load import load_config
from edge_agent.control.client import ControlClient
from tests.cli.helpers import count
from tests.support.broker import Broker
from tests.support.site import simulated_devices, write_site

T = TypeVar("T")

HELD_S = 0.3


def _when_found(path: Path, look: Callable[[], T], outcome: list[T], give_up: threading.Event) -> None:
    """As soon as the socket's path is there (a technician's CLI finding it): ``look``, its result kept."""
    while not path.exists():
        if give_up.is_set():
            return
        time.sleep(0.001)
    outcome.append(look())


async def _run_until_found(config: Path, path: Path, look: Callable[[], T], timeout: float = 20.0) -> list[T]:
    """Run the agent of ``config`` in this process until ``look`` has run once its control socket appeared."""
    outcome: list[T] = []
    give_up = threading.Event()
    watcher = threading.Thread(target=_when_found, args=(path, look, outcome, give_up))
    watcher.start()
    stop = asyncio.Event()
    running = asyncio.create_task(Agent(load_config(config)).run(stop))
    try:
        deadline = time.monotonic() + timeout
        while not outcome and not running.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        give_up.set()
        await running
        watcher.join()
    return outcome


def _connect(path: Path) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        try:
            client.connect(str(path))
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
        return "accepted"


def test_a_client_that_finds_the_socket_is_never_refused(tmp_path: Path, broker: Broker,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    listen = socket.socket.listen

    def held_listen(sock: socket.socket, *args: int) -> None:
        if sock.family == socket.AF_UNIX:
            time.sleep(HELD_S)  # the agent's process is not scheduled for a while (a busy two-core gateway)
        listen(sock, *args)

    monkeypatch.setattr(socket.socket, "listen", held_listen)
    config = write_site(tmp_path, broker_port=broker.port)
    path = tmp_path / "control.sock"
    assert asyncio.run(_run_until_found(config, path, lambda: _connect(path))) == ["accepted"]


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
    path, store = tmp_path / "control.sock", tmp_path / "store.db"

    def devices_then_readings() -> tuple[list[dict[str, Any]], int]:
        """The agent's device rows, then the readings of sim-0 committed by the time they came."""
        rows = ControlClient(path).call("devices")["devices"]
        return rows, count(store, "SELECT count(*) FROM records WHERE kind = 0 AND device = 'sim-0'")

    seen = asyncio.run(_run_until_found(config, path, devices_then_readings, timeout=30.0))
    assert seen, "the control socket never answered"
    rows, committed = seen[0]
    assert committed > 0, "no reading of sim-0 was committed before the answer: the test proves nothing"
    row = next(row for row in rows if row["name"] == "sim-0")
    assert row["last_seen"] is not None and row["values"], row
