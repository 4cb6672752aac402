"""The real agent as a separate process (``python -m edge_agent run``), to stop, kill -9 and restart."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


class AgentProcess:
    def __init__(self, config: Path, *, env: dict[str, str] | None = None, log: Path | None = None,
                 module: str = "edge_agent") -> None:
        """``module``: what ``python -m`` runs (a test stand-in under tests/support, or the agent itself)."""
        self.config = config
        self.module = module
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = log or config.parent / "agent.log"

    def start(self) -> AgentProcess:
        handle = open(self.log, "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "run", "--config", str(self.config), "--log-format", "json"],
            stdout=handle, stderr=handle, env=self.env,
        )
        handle.close()
        return self

    def terminate(self, timeout: float = 10.0) -> float:
        """SIGTERM; returns how long the agent took to exit."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        self.proc = None
        return time.monotonic() - began

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()


def store_rows(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read the store as the CLI would: a separate read-only connection."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_until(predicate: object, timeout: float = 20.0, interval: float = 0.05, what: str = "condition") -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except sqlite3.Error:
            pass
        time.sleep(interval)
    raise AssertionError(f"{what} not met after {timeout} s")
