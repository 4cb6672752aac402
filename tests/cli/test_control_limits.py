"""The control socket under abuse, against the real agent: silent clients cannot lock technicians out, and no
frame (a number of thousands of digits, tens of thousands of brackets) drops a client without a reply."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.control.client import ControlClient
from edge_agent.control.protocol import RequestFailed
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.broker import Broker
from tests.support.site import write_site

IDLE_S = 3.0  # long enough for the agent, however loaded the machine, to hold all 32 before they are let go
MAX_CLIENTS = 32


@pytest.fixture(scope="module")
def sock_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("control")
    broker = Broker(directory).start()
    config = write_site(directory, broker_port=broker.port)
    config.write_text(config.read_text().replace("[control]\n", f"[control]\nidle_timeout = {IDLE_S}\n"))
    agent = AgentProcess(config).start()
    path = directory / "control.sock"
    try:
        wait_until(path.exists, what="control socket")
        yield path
    finally:
        if agent.proc is not None:
            agent.terminate()
        broker.stop()


def connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(path))
    return sock


def test_silent_clients_are_let_go_so_a_technician_always_gets_in(sock_path: Path) -> None:
    began = time.monotonic()
    idle = [connect(sock_path) for _ in range(MAX_CLIENTS)]
    try:
        with pytest.raises(RequestFailed, match="too many clients"):
            ControlClient(sock_path, timeout=5).call("status")
        wait_until(lambda: _status_ok(sock_path), timeout=IDLE_S + 10, interval=0.2, what="a technician let in")
        assert time.monotonic() - began >= IDLE_S, "let in before the silent clients had their time"
        for sock in idle:  # each silent client was told why before being let go
            with sock.makefile("rb") as lines:
                reply = json.loads(lines.readline())
                assert reply["ok"] is False and f"no request for {IDLE_S:g} s" in reply["error"]
                assert lines.readline() == b""
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize("frame", [
    b'{"v":1,"op":"status","x":' + b"1" * 5000 + b"}",
    b"[" * 40_000,
    b'{"v":1,"op":"status","x":' + b"9" * 30 + b"}",
    b'{"v":1,"op":"read","device":"\\ud800"}',
    b'{"v":1,"op":"status","x":NaN}',
])
def test_every_frame_gets_a_reply_and_the_connection_goes_on(sock_path: Path, frame: bytes) -> None:
    with connect(sock_path) as sock, sock.makefile("rb") as lines:
        sock.sendall(frame + b"\n" + b'{"v":1,"op":"queue"}\n')
        refused = json.loads(lines.readline())
        assert refused["ok"] is False and refused["error"], refused
        assert json.loads(lines.readline())["ok"] is True, "the connection did not go on after the refusal"


def _status_ok(path: Path) -> bool:
    try:
        return bool(ControlClient(path, timeout=5).call("status")["ok"])
    except RequestFailed:
        return False
