"""scripts/install.sh under --root: what it puts where, idempotence, upgrade with switch-back, rollback, uninstall.

Real pip, real virtual environments, real wheels (offline, from the wheelhouse fixture). systemctl, useradd,
userdel and chgrp are only recorded, as --root promises, except in the upgrade test, where stand-ins run
the staged agent for real.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.conftest import BROKEN, FIRST, GOOD, INSTALL, PROJECT, Wheelhouse, run_installer
from tests.support.broker import Broker
from tests.support.site import write_site

STANDINS = Path(__file__).with_name("standins")


def version_of(root: Path) -> str:
    out = subprocess.run([str(root / "opt/edge-agent/current/bin/edge-agent"), "--version"],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def links(root: Path) -> tuple[str | None, str | None]:
    prefix = root / "opt/edge-agent"
    return tuple(  # type: ignore[return-value]
        str((prefix / name).readlink()) if (prefix / name).is_symlink() else None for name in ("current", "previous")
    )


def test_install_puts_everything_where_it_belongs(installed: Path, site_file: Path) -> None:
    prefix = installed / "opt/edge-agent"
    assert links(installed) == (FIRST, None)  # a relative link: the tree can move
    assert version_of(installed) == f"edge-agent {FIRST}"
    assert (prefix / FIRST / ".complete").exists()
    for name in ("edge-agent.service", "edge-agent-web.socket", "edge-agent-web.service"):
        unit = installed / "etc/systemd/system" / name
        assert unit.read_text() == (PROJECT / "systemd" / name).read_text()
    config = installed / "etc/edge-agent/site.toml"
    assert config.read_text() == site_file.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o660, "the site config may hold credentials: group only"
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o770, "the agent writes pushed configs there"
    actions = (installed / "install-actions.log").read_text().splitlines()
    assert any(line.startswith("useradd --system") and line.endswith(" edge-agent") for line in actions)
    assert f"chgrp edge-agent {config}" in actions
    assert actions[-6:] == ["systemctl daemon-reload", "systemctl enable edge-agent-web.socket",
                            "systemctl stop edge-agent-web.service", "systemctl restart edge-agent-web.socket",
                            "systemctl enable edge-agent.service", "systemctl restart edge-agent.service"]
    assert (prefix / FIRST / "lib").exists() and list((prefix / FIRST).glob("lib/python3*/site-packages/starlette")), (
        "the page's libraries (the web extra) are installed with the agent")
    assert not (installed / "var/lib/edge-agent").exists(), "systemd's StateDirectory= makes it, owned right"


# In the daemon's environment (the unit's, its bytecode folder here under --root): which modules came from source,
# and whether the code of the agent's and of ssl's compiled files has column positions.
_FROM_SOURCE = """
import importlib.util, marshal, os, sys
import edge_agent.agent, edge_agent.mqtt_client, ssl, zoneinfo, serial
from edge_agent.bytecode import from_source
print(sys.flags.optimize, from_source()[1])
for compiled in (importlib.util.cache_from_source(module.__file__) for module in (edge_agent.agent, ssl)):
    if os.path.exists(compiled):
        with open(compiled, "rb") as pyc:
            code = marshal.loads(pyc.read()[16:])
        print(any(column is not None for _, _, column, _ in code.co_positions()))
"""


def test_the_daemon_runs_optimised_from_the_bytecode_install_compiled(installed: Path) -> None:
    """The unit runs the agent with PYTHONOPTIMIZE=2, PYTHONNODEBUGRANGES=1 and PYTHONPYCACHEPREFIX (1.2 MB less
    resident, docs/performance.md): install.sh compiled that bytecode, without column positions, so no module the
    daemon imports is compiled from source at its start."""
    unit = (PROJECT / "systemd" / "edge-agent.service").read_text()
    assert "PYTHONOPTIMIZE=2 PYTHONNODEBUGRANGES=1 PYTHONPYCACHEPREFIX=/opt/edge-agent/current/pycache" in unit
    version = installed / "opt/edge-agent" / FIRST
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(PYTHONOPTIMIZE="2", PYTHONDONTWRITEBYTECODE="1")

    def from_source(**extra: str) -> str:
        return subprocess.run([str(version / "bin/python"), "-c", _FROM_SOURCE], capture_output=True, text=True,
                              env={**env, **extra}, check=True, timeout=60).stdout.strip()

    assert (said := from_source(PYTHONPYCACHEPREFIX=str(version / "pycache"))) == "2 []\nFalse\nFalse", said
    assert "edge_agent.agent" in from_source().splitlines()[0]  # the check can fail: nothing elsewhere is compiled


def test_doctor_finds_bytecode_gone_stale_and_its_fix_mends_it(installed: Path, site_file: Path) -> None:
    """After an upgrade of Python or of a package under the installed version, the daemon compiles the changed
    modules from source at each start; ``doctor`` says so, and the command it gives compiles them again."""
    version = installed / "opt/edge-agent" / FIRST
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    def bytecode_check() -> dict[str, str]:
        said = subprocess.run([str(version / "bin/edge-agent"), "doctor", "--json", "--config", str(site_file)],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
        assert "Traceback" not in said.stderr, said.stderr
        checks: dict[str, dict[str, str]] = {check["name"]: check for check in json.loads(said.stdout)["checks"]}
        return checks["bytecode"]

    fresh = bytecode_check()
    assert fresh["status"] == "ok" and str(version / "pycache") in fresh["detail"], fresh
    upgraded = next(version.glob("lib/python3*/site-packages/edge_agent/reading.py"))
    stat = upgraded.stat()
    os.utime(upgraded, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # as a new release of it would
    stale = bytecode_check()
    assert stale["status"] == "warn" and stale["detail"].startswith("1 of ") and str(upgraded) in stale["detail"]
    command = f"{version / 'bin/python'} -m edge_agent.bytecode {version / 'pycache'}"
    assert f"'sudo {command}'" in stale["fix"], stale["fix"]
    subprocess.run(command.split(), env=env, capture_output=True, timeout=600, check=True)
    assert bytecode_check()["status"] == "ok"


def test_a_rerun_changes_nothing_and_never_overwrites_an_edited_config(
    installed: Path, wheelhouse: Wheelhouse, site_file: Path
) -> None:
    venv_marker = installed / "opt/edge-agent" / FIRST / ".complete"
    made = venv_marker.stat().st_mtime_ns
    config = installed / "etc/edge-agent/site.toml"
    edited = config.read_text() + '\n# the installer tuned this on site\n'
    config.write_text(edited)
    result = run_installer(installed, "--wheelhouse", str(wheelhouse.path), "--version", FIRST,
                           "--config", str(site_file))
    assert f"version {FIRST} is already installed" in result.stderr
    assert venv_marker.stat().st_mtime_ns == made
    assert config.read_text() == edited
    assert (installed / "etc/edge-agent/site.toml.new").read_text() == site_file.read_text()
    assert links(installed) == (FIRST, None)
    run_installer(installed, "--wheelhouse", str(wheelhouse.path), "--version", FIRST, "--site", "demo")
    assert config.read_text() == edited
    assert (installed / "etc/edge-agent/site.toml.new").read_text() == (PROJECT / "configs/demo.toml").read_text(), (
        "--site takes the config bundled in the installed wheel"
    )


def test_a_first_install_without_a_site_config_stops_before_doing_anything(
    tmp_path: Path, wheelhouse: Wheelhouse
) -> None:
    result = run_installer(tmp_path, "--wheelhouse", str(wheelhouse.path), check=False)
    assert result.returncode == 1
    assert "needs a site config" in result.stderr
    assert not (tmp_path / "opt").exists()


def test_a_plain_install_does_not_switch_versions(installed: Path, wheelhouse: Wheelhouse) -> None:
    result = run_installer(installed, "--wheelhouse", str(wheelhouse.path), "--version", GOOD, check=False)
    assert result.returncode == 1 and "use --upgrade" in result.stderr
    assert links(installed) == (FIRST, None)


@pytest.fixture
def standins(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Run the installer's system commands for real, through stand-ins (tests/deploy/standins) that run the
    staged agent as the unit would: systemd cannot run here. The agent, its store and Mosquitto are real."""
    state = tmp_path / "standins"
    state.mkdir()
    env = {"PATH": f"{STANDINS}:{os.environ['PATH']}", "STANDIN_STATE": str(state),
           "STANDIN_ROOT": str(tmp_path / "root"), "EDGE_AGENT_INSTALL_RUN_SYSTEM": "1"}
    yield env
    pidfile = state / "agent.pid"
    if pidfile.exists() and pidfile.read_text().strip():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def started_versions(state: Path) -> list[str]:
    """The version of each agent_ready line of the agents' log, in order."""
    lines = (state / "agent.log").read_text().splitlines()
    return [str(json.loads(line)["version"]) for line in lines if '"agent_ready"' in line]


def running_version(state: Path) -> str:
    pid = int((state / "agent.pid").read_text())
    os.kill(pid, 0)  # raises if the agent the stand-in started is not running
    return started_versions(state)[-1]


@pytest.mark.timeout(900)  # five installs, each a virtual environment made from the wheelhouse
def test_upgrade_switches_back_by_itself_then_rollback_then_uninstall(
    tmp_path: Path, wheelhouse: Wheelhouse, broker: Broker, standins: dict[str, str]
) -> None:
    root, house, state = tmp_path / "root", str(wheelhouse.path), Path(standins["STANDIN_STATE"])
    site = write_site(tmp_path, broker_port=broker.port)

    first = run_installer(root, "--wheelhouse", house, "--version", FIRST, "--config", str(site), env=standins)
    assert f"edge-agent {FIRST} is running and healthy" in first.stderr
    assert running_version(state) == FIRST
    calls = (state / "calls.log").read_text()
    assert "useradd --system" in calls and "systemctl enable edge-agent.service" in calls

    run_installer(root, "--upgrade", "--wheelhouse", house, "--version", GOOD, env=standins)
    assert links(root) == (GOOD, FIRST)
    assert running_version(state) == GOOD

    starts = len(started_versions(state))
    failed = run_installer(root, "--upgrade", "--wheelhouse", house, env=standins, check=False)  # newest: broken
    assert failed.returncode == 1
    assert "edge-agent.service failed" in failed.stderr, "the broken version's daemon died as it started"
    assert f"switching back to edge-agent {GOOD}" in failed.stderr
    assert links(root) == (GOOD, FIRST), "after a failed upgrade, rollback must still lead to the older good one"
    assert started_versions(state)[starts:] == [GOOD], "the good version was started again"
    assert running_version(state) == GOOD
    assert (root / "opt/edge-agent" / BROKEN / ".failed").exists(), "kept for diagnosis"

    rolled = run_installer(root, "--rollback", env=standins)
    assert f"edge-agent {FIRST} is running and healthy" in rolled.stderr
    assert links(root) == (FIRST, GOOD)
    assert running_version(state) == FIRST
    assert (state / "calls.log").read_text().count("systemctl restart edge-agent.service") == 5

    run_installer(root, "--uninstall", env=standins)
    assert not (state / "agent.pid").exists(), "the agent was stopped"
    assert not (root / "opt/edge-agent").exists()
    assert not (root / "etc/systemd/system/edge-agent.service").exists()
    assert not (root / "etc/systemd/system/edge-agent-web.socket").exists()
    assert (root / "etc/edge-agent/site.toml").exists() and (tmp_path / "store.db").exists()

    state_dir = root / "var/lib/edge-agent"
    state_dir.mkdir(parents=True)
    run_installer(root, "--uninstall", "--purge", env=standins)
    assert not (root / "etc/edge-agent").exists() and not state_dir.exists()
    assert (state / "calls.log").read_text().splitlines()[-1] == "userdel edge-agent"


def test_the_scripts_are_shellcheck_clean() -> None:
    try:
        scripts = [INSTALL, INSTALL.with_name("build-wheelhouse.sh"), INSTALL.with_name("check-arm.sh"),
                   STANDINS / "systemctl", STANDINS / "recorder"]
        result = subprocess.run(["shellcheck", *map(str, scripts)], check=False, capture_output=True, text=True,
                                timeout=60)
    except FileNotFoundError:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    assert result.returncode == 0, result.stdout
