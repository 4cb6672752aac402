"""Fuzz target: bytes sent on the running agent's control socket, one connection per input. The promise: one
reply per request line (a line over the size limit gets its reply and ends the connection), each a JSON object
with ``ok``, and the connection closed cleanly when the client is done, never dropped mid-request."""

from __future__ import annotations

import json
import socket

from edge_agent.control import protocol
from edge_agent.control.handlers import STREAMS
from tests.fuzz.gateway import shared

TIMEOUT_S = 20.0


def requests(data: bytes) -> tuple[list[bytes], bool]:
    """The lines the server will read, and whether one of them is over the limit (it ends the connection).
    Streaming operations (tail, sync) run until the client leaves: they are tested elsewhere, and left out."""
    lines: list[bytes] = []
    for part in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        line = part + b"\n"
        if len(line) > protocol.MAX_LINE:
            lines.append(line)
            return lines, True
        try:
            op, _ = protocol.parse_request(line)
        except protocol.ProtocolError:
            op = None
        if op not in STREAMS:
            lines.append(line)
    return lines, False


def target(data: bytes) -> None:
    gateway = shared()
    lines, too_long = requests(data)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(str(gateway.socket))
        try:
            sock.sendall(b"".join(lines))
            sock.shutdown(socket.SHUT_WR)
        except BrokenPipeError:
            assert too_long, "the agent closed the connection before reading the request"
        with sock.makefile("rb") as stream:
            replies = stream.readlines()
    assert len(replies) == len(lines), f"{len(lines)} request line(s), {len(replies)} reply line(s)"
    for reply in replies:
        body = json.loads(reply)
        assert isinstance(body, dict) and isinstance(body.get("ok"), bool), body
        if not body["ok"]:
            assert isinstance(body.get("error"), str) and body["error"], body
