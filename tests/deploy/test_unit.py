"""The systemd unit: `systemd-analyze verify` in the staged install, and its security exposure rating."""

from __future__ import annotations

import grp
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.control.client import ControlClient
from tests.deploy.conftest import PROJECT
from tests.support.agent_proc import wait_until
from tests.support.broker import Broker
from tests.support.site import write_site

UNIT = PROJECT / "systemd" / "edge-agent.service"
WEB_UNIT = PROJECT / "systemd" / "edge-agent-web.service"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", *args], check=False, capture_output=True, text=True, timeout=120)


def test_the_installed_unit_verifies_clean(installed: Path) -> None:
    """--root: ExecStart= is checked against the staged /opt/edge-agent/current, and every key is known."""
    if not (SYSTEM_UNITS / "sysinit.target").exists():
        pytest.skip("this machine has no systemd unit tree to verify against")
    units = installed / "usr/lib/systemd/system"
    if not units.exists():
        shutil.copytree(SYSTEM_UNITS, units, symlinks=True)
    result = analyze("verify", f"--root={installed}", "edge-agent.service", "edge-agent-web.socket",
                     "edge-agent-web.service")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", f"verify warns: {result.stderr}"
    assert result.stdout.strip() == ""


def test_verify_catches_a_missing_executable(tmp_path: Path) -> None:
    """The check above can fail: without the agent installed, ExecStart= does not resolve."""
    if not (SYSTEM_UNITS / "sysinit.target").exists():
        pytest.skip("this machine has no systemd unit tree to verify against")
    shutil.copytree(SYSTEM_UNITS, tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, tmp_path / "etc/systemd/system")
    result = analyze("verify", f"--root={tmp_path}", "edge-agent.service")
    assert result.returncode != 0 and "/opt/edge-agent/current/bin/edge-agent" in result.stderr


@pytest.mark.parametrize("unit", [UNIT, WEB_UNIT], ids=lambda path: path.name)
def test_security_exposure_is_at_most_2(unit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = analyze("security", "--offline=true", "--no-pager", str(unit))
    match = re.search(rf"Overall exposure level for {re.escape(unit.name)}: (\d+\.\d+)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    with capsys.disabled():
        print(f"\nsystemd-analyze security --offline=true: {unit.name} exposure {exposure}")
    assert exposure <= 2.0


def test_the_page_is_started_by_its_socket_on_this_machine_only() -> None:
    socket_unit = (PROJECT / "systemd" / "edge-agent-web.socket").read_text()
    assert re.search(r"(?m)^ListenStream=127\.0\.0\.1:8080$", socket_unit), "loopback only, as web.bind's default"
    service = WEB_UNIT.read_text()
    assert "Requires=edge-agent-web.socket" in service and "[Install]" not in service, "started by its socket only"
    assert re.search(r"(?m)^ExecStart=/opt/edge-agent/current/bin/edge-agent web --config ", service)


# systemd lets these through whatever the filter says (systemd.exec(5), SystemCallFilter=).
_ALWAYS_ALLOWED = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}


def unit_syscalls(unit: str) -> set[str]:
    """The system calls a unit's SystemCallFilter= lines allow, in order: the first line sets the allow-list, a
    later ``~`` line takes its groups out, a later plain line puts them (back) in."""
    allowed: set[str] | None = None
    for value in re.findall(r"(?m)^SystemCallFilter=(.*)$", unit):
        deny = value.startswith("~")
        names = set().union(*(_expand(item) for item in value.lstrip("~").split()))
        if allowed is None:
            assert not deny, "a unit that starts with a deny-list is not handled here"
            allowed = names
        else:
            allowed = allowed - names if deny else allowed | names
    assert allowed is not None, "the unit has no SystemCallFilter="
    return allowed | _ALWAYS_ALLOWED


def _expand(item: str) -> set[str]:
    if not item.startswith("@"):
        return {item}
    listed = analyze("syscall-filter", item).stdout.splitlines()[1:]
    names = {line.strip() for line in listed if line.strip() and not line.strip().startswith("#")}
    return set().union(*(_expand(name) for name in names)) if names else set()


def test_the_units_filter_takes_privileged_calls_out_and_gives_chown_back() -> None:
    allowed = unit_syscalls(UNIT.read_text())
    assert {"chown", "fchown", "fchownat", "lchown"} <= allowed
    assert not {"setuid", "mount", "reboot", "init_module", "ptrace", "swapon", "settimeofday"} & allowed


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to drop every capability and set the groups, as the unit does")
def test_the_control_socket_gets_its_group_under_the_units_system_call_filter(tmp_path: Path, broker: Broker) -> None:
    """The agent gives its control socket to control.group with chown(2), which the unit's ~@privileged refuses:
    run the real agent under the unit's own system call filter, with no capability at all and the control group
    as a supplementary group (as User=, CapabilityBoundingSet= and a SupplementaryGroups= line would), and check
    that the socket gets its group and answers."""
    group = grp.getgrnam("users")
    syscalls = tmp_path / "syscalls"
    syscalls.write_text("\n".join(sorted(unit_syscalls(UNIT.read_text()))))
    config = write_site(tmp_path, broker_port=broker.port)
    config.write_text(config.read_text().replace("[control]\n", f'[control]\ngroup = "{group.gr_name}"\n'))
    socket_path = tmp_path / "control.sock"
    log = tmp_path / "agent.log"
    command = ["setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", f"--groups={group.gr_gid}",
               "--", sys.executable, str(Path(__file__).with_name("seccomp_exec.py")), str(syscalls),
               sys.executable, "-m", "edge_agent", "run", "--config", str(config), "--log-format", "json"]
    with open(log, "wb") as out:
        agent = subprocess.Popen(command, stdout=out, stderr=out)
    try:
        wait_until(lambda: "control_listening" in log.read_text() or "control_socket_failed" in log.read_text()
                   or agent.poll() is not None, timeout=30, what="the agent started")
        assert "control_socket_failed" not in log.read_text(), log.read_text()[-2000:]
        assert socket_path.stat().st_gid == group.gr_gid
        assert ControlClient(socket_path).call("status")["ok"] is True
        status = Path(f"/proc/{agent.pid}/status").read_text()
        assert re.search(r"(?m)^CapEff:\s+0+$", status) and re.search(r"(?m)^Seccomp:\s+2$", status), status
    finally:
        agent.terminate()
        agent.wait(10)
