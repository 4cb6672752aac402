"""The real agent under a systemd watchdog emulation: the test owns $NOTIFY_SOCKET and plays systemd.

Real peers: the agent process, Mosquitto, SQLite. Only systemd itself is emulated (it cannot run
as PID 1 in a test), by a unix datagram socket that receives exactly what systemd would.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agent_proc import AgentProcess
from tests.support.broker import Broker
from tests.support.site import write_site

WATCHDOG_USEC = 1_000_000  # systemd's WatchdogSec=1: the agent must ping every 0.5 s
HANG_AFTER = 4.0  # tests/support/hung_agent.py wedges the agent's main loop this long after it starts beating
REPO = Path(__file__).resolve().parents[2]


class NotifySocket:
    """What systemd's notify socket receives, with the monotonic time each datagram arrived.

    Like systemd, it reads every datagram as it comes (a thread), so the agent never meets a full socket queue.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._open = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self._open:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append((time.monotonic(), data.decode()))

    def collect(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait_for(self, line: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                seen = list(self.messages)
            for at, message in seen:
                if line in message.splitlines():
                    return at
            time.sleep(0.1)
        raise AssertionError(f"no {line} within {timeout} s; got {self.messages}")

    def times_of(self, line: str, after: float = 0.0) -> list[float]:
        with self._lock:
            seen = list(self.messages)
        return [at for at, message in seen if at >= after and line in message.splitlines()]

    def close(self) -> None:
        self._open = False
        self._reader.join(timeout=2)
        self.sock.close()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def start_agent(tmp_path: Path, broker: Broker, notify: NotifySocket, module: str = "edge_agent",
                **env: str) -> AgentProcess:
    config = write_site(tmp_path, broker_port=broker.port)
    base = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(WATCHDOG_USEC), "PYTHONPATH": str(REPO)}
    return AgentProcess(config, env={**base, **env}, module=module).start()


def health(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", "health", "--config", str(config), *extra],
        check=False, capture_output=True, text=True, timeout=60,
    )


def test_ready_then_regular_keepalives_and_none_once_the_loop_is_stuck(
    tmp_path: Path, broker: Broker, notify: NotifySocket
) -> None:
    agent = start_agent(tmp_path, broker, notify, "tests.support.hung_agent", HUNG_AGENT_AFTER=str(HANG_AFTER))
    try:
        ready = notify.wait_for("READY=1", timeout=30)
        notify.collect(HANG_AFTER + 4.0)  # the loop wedges about HANG_AFTER s after READY
        pings = notify.times_of("WATCHDOG=1", after=ready)
        assert len(pings) >= 4, f"too few keep-alives before the hang: {notify.messages}"
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        assert max(gaps) < WATCHDOG_USEC / 1e6, f"a keep-alive came too late for systemd: {gaps}"
        silence = time.monotonic() - pings[-1]
        assert silence > 2.5, f"keep-alives went on while the loop was stuck (last {silence:.1f} s ago)"
        assert agent.returncode is None, "the stuck agent must still be alive: only the watchdog ends it"
    finally:
        agent.kill()


def test_a_running_agent_is_healthy_and_says_stopping_on_sigterm(
    tmp_path: Path, broker: Broker, notify: NotifySocket
) -> None:
    agent = start_agent(tmp_path, broker, notify)
    try:
        before = time.time() - 1
        notify.wait_for("READY=1", timeout=30)
        deadline = time.monotonic() + 20
        while (result := health(agent.config, "--since", str(before))).returncode != 0:
            assert time.monotonic() < deadline, f"never healthy: {result.stdout}{result.stderr}"
            time.sleep(0.2)
        assert result.stdout.startswith("healthy:") and "control socket" in result.stdout
        later = health(agent.config, "--since", str(time.time() + 60))
        assert later.returncode == 1 and "no start since" in later.stderr
        agent.terminate()
        notify.wait_for("STOPPING=1", timeout=5)
        # Gone from its socket, the agent is judged from its store: recent commits, or not.
        assert "from the store" in health(agent.config, "--since", str(before)).stdout
        stale = health(agent.config, "--max-age", "0")
        assert stale.returncode == 1 and "nothing committed" in stale.stderr
    finally:
        if agent.returncode is None and agent.proc is not None:
            agent.kill()


def test_health_fails_without_an_agent_or_a_store(tmp_path: Path) -> None:
    config = write_site(tmp_path, broker_port=1)
    result = health(config)
    assert result.returncode == 1
    assert "does not answer" in result.stderr and "cannot be read" in result.stderr


def test_a_notify_socket_nobody_reads_never_stalls_the_agent(tmp_path: Path) -> None:
    """A full datagram queue drops the notification instead of blocking the agent's event loop."""
    from edge_agent.systemd import Notifier

    unread = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    unread.bind(str(tmp_path / "unread.sock"))
    try:
        notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "unread.sock")})
        sent = [notifier.send("WATCHDOG=1") for _ in range(200)]  # far more than a unix socket queues
        assert sent[0] and not all(sent), "every send claimed delivered to a socket that queues a few"
        assert unread.recv(64) == b"WATCHDOG=1"
    finally:
        unread.close()
