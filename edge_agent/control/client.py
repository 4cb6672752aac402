"""The CLI's side of the control socket: blocking, one connection per request."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge_agent.control import protocol
from edge_agent.control.protocol import ProtocolError, RequestFailed
from edge_agent.errors import EdgeAgentError


class AgentNotRunning(EdgeAgentError):
    """Nothing listens on the control socket."""


class ControlClient:
    """Talks to the running agent over its Unix socket."""

    def __init__(self, path: Path, timeout: float = 15.0) -> None:
        self.path = path
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            raise AgentNotRunning(f"the agent is not running (nothing listens on {self.path})") from exc
        except PermissionError as exc:
            sock.close()
            raise EdgeAgentError(f"no permission to use {self.path}: run as root or as a member of the agent's"
                                 " group (control.group in the site config)") from exc
        except OSError as exc:
            sock.close()
            raise AgentNotRunning(f"cannot reach the agent on {self.path}: {exc.strerror or exc}") from exc
        return sock

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        """One request, one reply; RequestFailed with the agent's words if it says no."""
        for reply in self._exchange(op, args, self.timeout):
            return _checked(reply)
        raise ProtocolError("the agent closed the connection without answering")

    def stream(self, op: str, args: dict[str, Any], idle_timeout: float | None) -> Iterator[dict[str, Any]]:
        """Replies of a streaming operation as they come, until it ends or the agent hangs up.

        ``idle_timeout``: longest silence accepted between two replies (None: wait for ever).
        """
        for reply in self._exchange(op, args, idle_timeout):
            yield _checked(reply)

    def _exchange(self, op: str, args: dict[str, Any], idle: float | None) -> Iterator[dict[str, Any]]:
        sock = self._connect()
        try:
            # the agent may answer at once and hang up (too many clients): its answer is read below all the same
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(protocol.request(op, **args))
            sock.settimeout(idle)
            with sock.makefile("rb") as lines:
                for line in lines:
                    yield protocol.parse_reply(line)
        except TimeoutError as exc:
            raise EdgeAgentError(f"the agent did not answer '{op}' within {idle:g} s") from exc
        finally:
            sock.close()


def _checked(reply: dict[str, Any]) -> dict[str, Any]:
    if not reply.get("ok"):
        raise RequestFailed(str(reply.get("error", "the agent refused without saying why")))
    return reply


def running_agent(path: Path, timeout: float = 15.0) -> ControlClient | None:
    """A client if the agent answers on ``path``, else None."""
    client = ControlClient(path, timeout)
    try:
        client._connect().close()
    except AgentNotRunning:
        return None
    return client


def modbus_read_via_agent(path: Path, device: str, *, table: str | None = None, address: int | None = None,
                          count: int = 1) -> dict[str, Any] | None:
    """For ``edge-agent modbus read``: read through the running agent so a serial port is never opened twice.

    Without ``address``: the device's decoded points (``{"readings": [...]}``); with it: raw values
    (``{"values": [...]}``) read on the device's own line. None when the agent is not running (then open
    the port directly). RequestFailed carries the agent's plain-words refusal (no answer, unknown device).
    """
    client = running_agent(path)
    if client is None:
        return None
    if address is None:
        return client.call("modbus_read", device=device)
    return client.call("modbus_read", device=device, table=table or "holding", address=address, count=count)
