"""The control socket server the agent runs: a Unix socket, one JSON request per line, replies per line."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edge_agent.cancellation import cancel_until_ended
from edge_agent.clock import Clock
from edge_agent.config.site import SiteConfig
from edge_agent.control import protocol
from edge_agent.control.book import DeviceBook
from edge_agent.control.context import ControlContext
from edge_agent.control.handlers import HANDLERS, STREAMS
from edge_agent.control.tail import TailHub
from edge_agent.errors import EdgeAgentError
from edge_agent.gateway_status import GatewayStatus
from edge_agent.logs import get_logger
from edge_agent.ports import Drivers, Outbox, Publisher
from edge_agent.reading import Record

log = get_logger(__name__)

SOCKET_MODE = 0o660
MAX_CLIENTS = 32
_BACKLOG = 100  # connections the kernel holds until the loop accepts them (asyncio's own default)


class ControlServer:
    """Listens on ``config.control.socket`` while the agent runs. ``book`` holds what each device last said (the
    supervisor feeds it from the first commit on); once started, the supervisor hands the server the committed
    records (``on_committed``) that clients follow."""

    def __init__(self, config: SiteConfig, *, clock: Clock, outbox: Outbox, link: Publisher, drivers: Drivers,
                 status: Callable[[], GatewayStatus], started_at: float, book: DeviceBook) -> None:
        self.path: Path = config.control.socket
        self._group = config.control.group
        self._idle_timeout = config.control.idle_timeout
        self._context = ControlContext(config=config, clock=clock, outbox=outbox, link=link, drivers=drivers,
                                       status=status, started_at=started_at,
                                       book=book, hub=TailHub())
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def hub(self) -> TailHub:
        return self._context.hub

    async def start(self) -> None:
        """Bind the socket (replacing a stale one), restrict it, and follow committed records."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if _answers(self.path):
            raise EdgeAgentError(f"another agent already listens on {self.path}")
        sock = _listening_socket(self.path, self._group)
        try:
            self._server = await asyncio.start_unix_server(self._client, sock=sock, limit=protocol.MAX_LINE)
        except BaseException:
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            raise
        log.info("control_listening", socket=str(self.path), group=self._group)

    async def stop(self) -> None:
        """The path goes first (a CLI started now finds no agent, rather than a socket that refuses it), then the
        listening socket, then the clients' connections."""
        if self._server is None:
            return
        self._stopping = True
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server.close()
        await cancel_until_ended(list(self._clients))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)
        self._server = None

    def on_committed(self, records: Sequence[Record], seqs: list[int]) -> None:
        if self._server is None:
            return
        self._context.hub.publish(records, seqs)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._stopping:  # accepted in the turn the agent began to stop: not served by stopped services
            writer.close()
            return
        if len(self._clients) >= MAX_CLIENTS:
            await _send(writer, protocol.error(f"too many clients (at most {MAX_CLIENTS})"))
            writer.close()
            return
        self._clients.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # one client's failure ends its connection, logged; never the server
            log.exception("control_client_failed")
        finally:
            self._clients.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Requests until the client hangs up, sends nothing for ``control.idle_timeout`` s (a slot is never held
        by a silent client), or sends a line longer than MAX_LINE; each request gets its reply."""
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), self._idle_timeout)
            except TimeoutError:
                await _send(writer, protocol.error(f"no request for {self._idle_timeout:g} s: connection closed"))
                return
            except ValueError:  # longer than MAX_LINE
                await _send(writer, protocol.error(f"request longer than {protocol.MAX_LINE} bytes"))
                return
            if not line:
                return
            try:
                op, args = protocol.parse_request(line)
            except protocol.ProtocolError as exc:
                await _send(writer, protocol.error(str(exc)))
                continue
            if op in STREAMS:
                await self._stream(op, args, writer)
                return
            await _send(writer, await self._answer(op, args))

    async def _answer(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = HANDLERS.get(op)
        if handler is None:
            return protocol.error(f"unknown operation '{op}'; known: {', '.join(sorted([*HANDLERS, *STREAMS]))}")
        try:
            return await handler(self._context, args)
        except (EdgeAgentError, ValueError, TypeError, ArithmeticError) as exc:
            return protocol.error(str(exc) or type(exc).__name__)
        except Exception as exc:
            log.exception("control_request_failed", op=op)
            return protocol.error(f"the agent failed to do '{op}': {exc}")

    async def _stream(self, op: str, args: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        async def send(message: dict[str, Any]) -> None:
            await _send(writer, message)

        try:
            await STREAMS[op](self._context, args, send, writer.transport.abort)
        except (EdgeAgentError, ValueError, TypeError, ArithmeticError) as exc:
            await _send(writer, protocol.error(str(exc) or type(exc).__name__))
        except (ConnectionError, asyncio.IncompleteReadError):
            raise
        except Exception as exc:
            log.exception("control_stream_failed", op=op)
            await _send(writer, protocol.error(f"the agent failed to do '{op}': {type(exc).__name__}: {exc}"))


async def _send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(protocol.encode(message))
    await writer.drain()


def _listening_socket(path: Path, group: str | None) -> socket.socket:
    """A socket listening on ``path``, replacing a stale one there. It is bound under a temporary name beside
    ``path``, given its mode and group, made to listen, and only then renamed onto ``path``: whatever finds the path
    can connect (bound at ``path`` itself, the file would exist before the socket listens, and a client, the
    technician's CLI included, would be refused: "the agent is not running"), and never with the wrong permissions.
    Raises OSError or EdgeAgentError, leaving nothing behind."""
    staging = path.with_name(f".{os.getpid()}")  # short: a Unix socket's path is at most 107 bytes
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(staging))
        try:
            os.chmod(staging, SOCKET_MODE)
            if group is not None:
                _give_to_group(staging, group)
            sock.listen(_BACKLOG)
            os.replace(staging, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            raise
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _answers(path: Path) -> bool:
    """True if something already accepts connections on ``path`` (a live agent, not a stale file)."""
    if not path.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(0.5)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _give_to_group(path: Path, group: str) -> None:
    """The socket to ``control.group``. Under the hardened unit the service runs as that group (``Group=``), so the
    socket is created with it and no chown(2) is made: the unit's SystemCallFilter= refuses chown (``~@privileged``,
    see systemd/edge-agent.service and tests/deploy/test_unit.py). Another group needs chown, which the unit refuses:
    said plainly."""
    gid = _group_id(group)
    if path.stat().st_gid == gid:
        return
    try:
        os.chown(path, -1, gid)
    except PermissionError as exc:
        raise EdgeAgentError(f"control.group '{group}': the control socket cannot be given to that group ({exc}); "
                             "under the shipped systemd unit it must be the service's own group (Group=, "
                             "'edge-agent'): set control.group to it, or leave control.group out") from None


def _group_id(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise EdgeAgentError(f"control.group '{name}' does not exist on this gateway: create it"
                             f" ('sudo groupadd --system {name}') or fix control.group") from None
