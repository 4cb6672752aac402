"""Each command with the agent stopped: figures come from the store, read-only; actions say why they cannot run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import assert_fits, assert_plain_failure, cli, cli_json, count, site
from tests.support.agent_proc import AgentProcess, wait_until
from tests.support.ports import free_port


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A store written by a real agent run (its upstream broker absent, so a backlog is left), then stopped."""
    directory = tmp_path_factory.mktemp("stopped")
    config = site(directory, broker_port=free_port())
    agent = AgentProcess(config).start()
    try:
        wait_until(lambda: count(directory / "store.db", "SELECT count(*) FROM records") > 30,
                   what="readings committed")
    finally:
        agent.terminate()
    assert not (directory / "control.sock").exists(), "the agent removes its socket when it stops"
    yield config


def test_status_reads_the_store_when_the_agent_is_stopped(stopped: Path) -> None:
    result = cli(stopped, "status")
    assert result.returncode == 0, result.stderr
    assert_fits(result.stdout)
    assert "NOT RUNNING" in result.stdout and "records not yet sent" in result.stdout
    assert "sim-0" in result.stdout and "p0=" in result.stdout
    status = cli_json(stopped, "status")
    assert status["agent"]["running"] is False and status["upstream"] is None
    pending = count(stopped.parent / "store.db", "SELECT count(*) FROM outbox")
    assert status["outbox"]["backlog"] == pending > 0
    assert status["devices"][0]["values"]["p0"]["unit"] == "V"


def test_inventory_queue_read_and_export_work_without_the_agent(stopped: Path) -> None:
    assert [d["name"] for d in cli_json(stopped, "devices")] == ["sim-0"]
    assert [p["point"] for p in cli_json(stopped, "points")] == ["p0", "p1"]
    assert cli_json(stopped, "queue")["outbox"]["pending_readings"] > 0
    read = cli_json(stopped, "read", "sim-0")
    assert read["live"] is False and {r["point"] for r in read["readings"]} == {"p0", "p1"}
    exported = cli(stopped, "export", "--from", "2020-01-01", "--to", str(time.time() + 1), "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(rows) == count(stopped.parent / "store.db", "SELECT count(*) FROM records WHERE kind=0")


def test_actions_that_need_the_agent_say_so(stopped: Path) -> None:
    assert_plain_failure(cli(stopped, "write", "sim-0", "p0", "1", "--yes"), "the agent is not running")
    assert_plain_failure(cli(stopped, "sync", "--now"), "the agent is not running")


def test_tail_follows_the_store_then_sees_the_agent_start(stopped: Path) -> None:
    tail = subprocess.Popen([sys.executable, "-m", "edge_agent", "tail", "--count", "5", "--json",
                             "--config", str(stopped)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    agent = AgentProcess(stopped).start()
    try:
        out, err = tail.communicate(timeout=30)
    finally:
        agent.terminate()
    assert tail.returncode == 0, err
    assert "the agent is not running" in err
    assert len(out.splitlines()) == 5


def test_a_missing_store_or_bad_config_is_one_plain_line(tmp_path: Path) -> None:
    config = site(tmp_path, broker_port=free_port())
    assert_plain_failure(cli(config, "status"), "the agent has not run with this config yet")
    bad = tmp_path / "bad.toml"
    bad.write_text('gateway_id = "gw"\n[site]\ncommune = "X"\nlatitude = 100\nlongitude = 0\n')
    assert_plain_failure(cli(bad, "status"), "the config is not valid")
    assert_plain_failure(cli(tmp_path / "absent.toml", "devices"), "cannot be read")


def test_the_agent_makes_its_socket_dir_replaces_a_stale_socket_and_sets_the_group(tmp_path: Path) -> None:
    import grp
    import socket
    import stat

    config = site(tmp_path, broker_port=free_port())
    path = tmp_path / "run" / "edge-agent" / "control.sock"
    text = config.read_text().replace(f'socket = "{tmp_path / "control.sock"}"', f'socket = "{path}"\ngroup = "daemon"')
    config.write_text(text)
    path.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # left behind by a crashed agent: a socket file nobody listens on
    stale.close()
    agent = AgentProcess(config).start()
    try:
        wait_until(lambda: '"upstream": {' in cli(config, "queue", "--json").stdout, what="the agent on its socket")
        info = path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o660
        assert info.st_gid == grp.getgrnam("daemon").gr_gid
    finally:
        agent.terminate()
    assert not path.exists()


def test_a_control_group_that_does_not_exist_leaves_the_agent_running_without_its_socket(tmp_path: Path) -> None:
    config = site(tmp_path, broker_port=free_port())
    path = tmp_path / "control.sock"
    config.write_text(config.read_text().replace(f'socket = "{path}"', f'socket = "{path}"\ngroup = "no-such-grp"'))
    agent = AgentProcess(config).start()
    try:
        log = tmp_path / "agent.log"
        wait_until(lambda: log.exists() and "control_socket_failed" in log.read_text(), what="the failure logged")
        assert "control.group 'no-such-grp' does not exist" in log.read_text()
        assert agent.returncode is None, "the agent runs on: devices, store and lights do not need the socket"
        assert not path.exists(), "no socket left listening with the wrong group"
        status = cli(config, "status")
        assert status.returncode == 0 and "NOT RUNNING" in status.stdout  # read from the store, and says so
    finally:
        agent.terminate()
