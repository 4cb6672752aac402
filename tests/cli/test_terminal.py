"""``status`` and ``tail`` in a real 80-column terminal (tmux): readable, nothing wider than the screen."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Running

WIDTH, HEIGHT = 80, 40
# More lines than one poll of the cabinet commits (26 points, one record each, in a row): the lines tailed span
# two devices whichever record they begin at (15 could all be the cabinet's), and still fit the pane.
TAILED = 30


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A tmux server of this test's own (its own socket), so other sessions are never touched."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    sock = tmp_path / "tmux.sock"
    yield "cli", sock
    subprocess.run(["tmux", "-S", str(sock), "kill-server"], check=False, capture_output=True)


def run_in_pane(sock: Path, name: str, command: list[str]) -> None:
    shell = f"{shlex.join(command)}; sleep 60"  # the pane stays open to be captured
    subprocess.run(["tmux", "-S", str(sock), "new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT),
                    shell], check=True)


def capture(sock: Path, name: str) -> list[str]:
    out = subprocess.run(["tmux", "-S", str(sock), "capture-pane", "-p", "-J", "-t", name],
                         check=True, capture_output=True, text=True).stdout
    return [line.rstrip() for line in out.splitlines() if line.strip()]


def wait_for_screen(sock: Path, name: str, done: str, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = capture(sock, name)
        if any(done in line for line in lines):
            return lines
        time.sleep(0.2)
    raise AssertionError(f"'{done}' never appeared:\n" + "\n".join(capture(sock, name)))


def test_status_and_tail_read_well_at_80_columns(running: Running, terminal: tuple[str, Path]) -> None:
    name, sock = terminal
    base = [sys.executable, "-m", "edge_agent"]
    run_in_pane(sock, name, [*base, "status", "--config", str(running.config)])
    screen = wait_for_screen(sock, name, "sim-0")
    status = "\n".join(screen)
    assert all(len(line) <= WIDTH for line in screen), status
    assert screen[0].startswith("gateway") and "gw-test" in screen[0], status
    assert any(line.startswith("agent") and "running for" in line for line in screen), status
    header = next(line for line in screen if line.startswith("DEVICE"))
    assert header.split() == ["DEVICE", "TYPE", "STATE", "LAST", "SEEN", "ERR", "LAST", "VALUES"], status
    meter = next(line for line in screen if line.startswith("meter"))
    assert "online" in meter and "voltage=" in meter, status

    tail_name = "tail"
    subprocess.run(["tmux", "-S", str(sock), "new-window", "-d", "-t", name, "-n", tail_name,
                    f"{shlex.join([*base, 'tail', '--config', str(running.config), '--count', str(TAILED)])}; "
                    "sleep 60"], check=True)
    target = f"{name}:{tail_name}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(lines := capture(sock, target)) < TAILED:
        time.sleep(0.2)
    shown = "\n".join(lines)
    assert len(lines) == TAILED, shown
    assert all(len(line) <= WIDTH for line in lines), shown
    assert all(line[:8].count(":") == 2 for line in lines), f"each line starts with the time HH:MM:SS:\n{shown}"
    # A reading's line is "HH:MM:SS  device point value"; an event's has a mark after the time ("!" or "*") and may
    # come from the gateway itself (a loaded machine makes some): the readings' devices are the ones asked for.
    devices = {line.split()[1] for line in lines if line[8] == " "}
    assert devices <= {"meter", "cabinet", "sim-0"} and len(devices) >= 2, shown
