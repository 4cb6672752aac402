"""Running the page: on the listening socket systemd hands over (socket activation), or on one of its own; stops
by itself after ``idle_exit_s`` without a request (systemd starts it again on the next one).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from collections.abc import Callable

import uvicorn

from edge_agent.cancellation import cancel_and_wait
from edge_agent.config.load import LoadedConfig
from edge_agent.errors import EdgeAgentError
from edge_agent.logs import get_logger
from edge_agent.web import passwords
from edge_agent.web.app import WebApp

log = get_logger(__name__)

SD_LISTEN_FDS_START = 3
IDLE_CHECK_S = 1.0


def systemd_socket() -> socket.socket | None:
    """The listening socket passed by systemd (LISTEN_FDS, LISTEN_PID), or None when started by hand."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or int(os.environ.get("LISTEN_FDS", "0") or 0) < 1:
        return None
    for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(key, None)  # not for any child
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)  # family and type read from the descriptor
    if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
        raise EdgeAgentError("the socket systemd passed is not a TCP socket: use ListenStream=ADDRESS:PORT")
    return sock


def listen(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise EdgeAgentError(f"cannot listen on {address}:{port}: {exc.strerror}") from exc
    sock.listen(64)
    return sock


def check_address(address: str, loaded: LoadedConfig) -> str:
    """The address the page listens on; refused unless the site config opts in to a non-loopback one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise EdgeAgentError(f"--bind '{address[:60]}' is not an IP address: give 127.0.0.1 (the default), ::1,"
                             " or one of the gateway's own addresses") from None
    if ip.is_loopback:
        return address
    web = loaded.config.web
    if not web.lan:
        raise EdgeAgentError(
            f"the page would listen on {address}, but {loaded.path} keeps it on this machine ([web] bind ="
            f" '{web.bind}'): opening it to the network is decided in the site config (set web.bind and a"
            " password), or listen on 127.0.0.1 and come through an SSH tunnel")
    if passwords.stored_hash(web) is None:
        raise EdgeAgentError(f"the page would listen on {address} without a password: set one first"
                             f" ('sudo edge-agent web passwd --config {loaded.path}')")
    return address


def serve(loaded: LoadedConfig, *, bind: str | None = None, port: int | None = None,
          idle_exit_s: float | None = None) -> int:
    """Serve until SIGTERM/SIGINT or until idle; 0 when it stopped as asked or idle."""
    web = loaded.config.web
    inherited = systemd_socket()
    if inherited is not None:
        sock, address = inherited, check_address(str(inherited.getsockname()[0]), loaded)
    else:
        address = check_address(bind or web.bind, loaded)  # before listening there
        sock = listen(address, port or web.port)
    for path in (web.tls_cert, web.tls_key):
        if path is not None and not path.exists():
            raise EdgeAgentError(f"web TLS file {path} does not exist: fix web.tls_cert/web.tls_key in {loaded.path}")
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.WARNING)
    app = WebApp(loaded, secure=web.tls)
    guard = app.asgi()
    server = uvicorn.Server(uvicorn.Config(
        guard, lifespan="off", log_config=None, access_log=False, server_header=False, proxy_headers=False,
        http="h11", ws="none", loop="asyncio", timeout_keep_alive=5, limit_concurrency=32,
        ssl_certfile=str(web.tls_cert) if web.tls_cert else None, ssl_keyfile=str(web.tls_key) if web.tls_key else None,
    ))
    idle = web.idle_exit_s if idle_exit_s is None else idle_exit_s
    scheme = "https" if web.tls else "http"
    host = f"[{address}]" if ":" in address else address
    log.info("web_listening", url=f"{scheme}://{host}:{sock.getsockname()[1]}/", systemd=inherited is not None,
             idle_exit_s=idle or None)

    async def main() -> None:
        watcher = asyncio.create_task(_stop_when_idle(server, guard.idle_for, idle))
        try:
            await server.serve(sockets=[sock])
        finally:
            await cancel_and_wait([watcher])

    asyncio.run(main())
    log.info("web_stopped", idle=server.should_exit and idle > 0 and guard.idle_for() >= idle)
    return 0


async def _stop_when_idle(server: uvicorn.Server, idle_for: Callable[[], float], limit: float) -> None:
    if limit <= 0:
        return
    while not server.should_exit:
        await asyncio.sleep(min(IDLE_CHECK_S, limit))
        if idle_for() >= limit:
            log.info("web_idle", idle_s=limit)
            server.should_exit = True
