from __future__ import annotations

import itertools
import os
import socket

# Ports are handed out below the kernel's ephemeral range (32768-60999 by default): a port the kernel picked for
# ``bind(0)`` could be taken by any outgoing connection's local end, or by another test worker, before the server
# meant for it (a Mosquitto started a moment later) binds it. Each pytest-xdist worker gets its own slice, and walks
# it in turn, so two workers never race for the same port and one worker does not hand a port out twice in a row.
FIRST_PORT = 20_000
SLICE = 1_500
SLICES = 8


def _worker_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) % SLICES if digits else 0


_START = FIRST_PORT + _worker_index() * SLICE
_OFFSET = os.getpid() % SLICE  # a process started by a test (a bench helper) begins elsewhere in the slice
_NEXT = itertools.cycle([_START + (_OFFSET + step) % SLICE for step in range(SLICE)])


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now, outside the ephemeral range, in this worker's
    slice."""
    for _ in range(SLICE):
        port = next(_NEXT)
        if _bindable(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # the whole slice is busy: let the kernel pick
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")
