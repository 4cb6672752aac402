"""The control socket's path appears only once the socket accepts: a client that finds it is never refused.

A technician's CLI (or a test) that finds the path and connects at once must not be told "the agent is not running"
because the agent, on a loaded gateway, was held between creating the socket file and listening on it. The real
agent runs in this process, its listen(2) held up as a loaded machine would hold it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest

from edge_agent.agent import Agent
from edge_agent.config.load import load_config
from tests.support.broker import Broker
from tests.support.site import write_site

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


def test_a_client_that_finds_the_socket_is_never_refused(tmp_path: Path, broker: Broker,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    listen = socket.socket.listen

    def held_listen(sock: socket.socket, *args: int) -> None:
        if sock.family == socket.AF_UNIX:
            time.sleep(HELD_S)  # the agent's process is not scheduled for a while (a busy two-core gateway)
        listen(sock, *args)

    monkeypatch.setattr(socket.socket, "listen", held_listen)
    config = write_site(tmp_path, broker_port=broker.port)
    assert asyncio.run(_run_until_found(config, tmp_path / "control.sock")) == ["accepted"]
