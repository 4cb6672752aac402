"""``edge-agent web`` as a process: started by a socket systemd passes, stopping when idle, refusing to open the
page to the network unless the site config says so; ``edge-agent web passwd``; nothing of it in the daemon."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.ports import free_port, wait_port
from tests.support.site import write_site

WEB_LIBRARIES = ("starlette", "uvicorn", "jinja2", "markupsafe", "argon2", "anyio", "h11")


def edge_agent(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge_agent", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)


def site(tmp_path: Path, web: str = "") -> Path:
    return write_site(tmp_path, broker_port=free_port(),
                      extra=f'[web]\npassword_file = "{tmp_path / "web-password"}"\n{web}\n')


def test_the_daemon_never_loads_the_page(tmp_path: Path) -> None:
    """``edge-agent run`` imports the command line and the agent: neither may bring the web libraries."""
    probe = ("import sys, edge_agent.cli.main, edge_agent.agent; print([m for m in sys.modules"
             f" if m.split('.')[0] in {WEB_LIBRARIES!r} or m.startswith('edge_agent.web')])")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None, reason="systemd-socket-activate is missing")
def test_started_on_the_first_request_by_a_passed_socket_then_stops_when_idle(tmp_path: Path) -> None:
    """systemd's own socket-activation tool listens, starts the page on the first connection and hands it the
    socket (LISTEN_FDS), as the .socket unit does; the page then stops by itself after 2 s without a request."""
    config, port = site(tmp_path), free_port()
    log = tmp_path / "web.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(["systemd-socket-activate", "-l", f"127.0.0.1:{port}", sys.executable, "-m",
                                 "edge_agent", "web", "--config", str(config), "--idle-exit", "2",
                                 "--log-format", "json"], stdout=handle, stderr=handle)
    try:
        wait_port(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as reply:
            assert reply.status == 200 and "Esternay" in reply.read().decode()
        began = time.monotonic()
        assert proc.wait(30) == 0
        assert time.monotonic() - began >= 1.5, "it waited for the idle time"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = {entry["event"]: entry for entry in
              (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))}
    assert events["web_listening"]["systemd"] is True and "web_idle" in events


def test_the_network_is_opt_in_in_the_site_config(tmp_path: Path) -> None:
    local = site(tmp_path)
    refused = edge_agent("web", "--config", str(local), "--bind", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode == 1 and "decided in the site config" in refused.stderr
    assert "Traceback" not in refused.stderr
    named = edge_agent("web", "--config", str(local), "--bind", "localhost", "--port", str(free_port()))
    assert named.returncode == 1 and "--bind 'localhost' is not an IP address: give 127.0.0.1" in named.stderr
    lan = tmp_path / "lan"
    lan.mkdir()
    opened = site(lan, 'bind = "0.0.0.0"')
    refused = edge_agent("web", "--config", str(opened), "--port", str(free_port()))
    assert refused.returncode == 1 and "without a password" in refused.stderr
    check = edge_agent("config", "check", str(opened))
    assert "without TLS" in check.stdout + check.stderr and "does not exist" in check.stdout + check.stderr


def test_passwd_stores_an_argon2_hash_never_the_password(tmp_path: Path) -> None:
    config = site(tmp_path)
    short = edge_agent("web", "passwd", "--stdin", "--config", str(config), stdin="short\n")
    assert short.returncode == 1 and "too short" in short.stderr
    assert not (tmp_path / "web-password").exists()
    done = edge_agent("web", "passwd", "--stdin", "--config", str(config), stdin="réverbère-de-la-mairie\n")
    assert done.returncode == 0, done.stderr
    stored = (tmp_path / "web-password").read_text()
    assert stored.startswith("$argon2id$") and "réverbère" not in stored
    printed = edge_agent("web", "passwd", "--stdin", "--print", "--config", str(config), stdin="réverbère-2-mairie\n")
    assert printed.stdout.startswith("$argon2id$") and printed.stdout.strip() != stored.strip()
