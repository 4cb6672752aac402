"""The systemd unit: `systemd-analyze verify` in the staged install, and its security exposure rating."""

from __future__ import annotations

import grp
import json
import os
import re
import shutil
import subprocess
import sys
import time
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


UNITS = sorted((PROJECT / "systemd").glob("*.service"))
EXPOSURE_BOUND = 1.5


def security(unit: Path, *args: str) -> str:
    result = analyze("security", "--offline=true", "--no-pager", *args, str(unit))
    return result.stdout + result.stderr


def exposure(unit: Path) -> float:
    text = security(unit)
    match = re.search(rf"Overall exposure level for {re.escape(unit.name)}: (\d+\.\d+)", text)
    assert match, text
    return float(match.group(1))


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_every_shipped_unit_has_a_security_exposure_of_at_most_1_5(
        unit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every service unit in systemd/ (the agent's and any other shipped beside it) as systemd rates it."""
    rated = exposure(unit)
    with capsys.disabled():
        print(f"\nsystemd-analyze security --offline=true: {unit.name} exposure {rated}")
    assert rated <= EXPOSURE_BOUND, f"{unit.name}: exposure {rated} > {EXPOSURE_BOUND}"


def test_the_agent_unit_keeps_network_and_serial_access() -> None:
    """The sandbox, as systemd reads it, still lets the agent reach its brokers (IPv4 and IPv6, any address), its
    control socket and systemd's notify socket (unix), and the serial adapters (the dialout group, the tty
    devices, no private /dev)."""
    found = {item["name"]: item for item in json.loads(security(UNIT, "--json=short"))}

    def kept(name: str) -> bool:  # an exposure above 0: systemd finds the access still there
        return float(found[name]["exposure"] or 0) > 0

    assert kept("PrivateNetwork="), "the host's network is gone"
    assert kept("RestrictAddressFamilies=~AF_(INET|INET6)"), "no IP sockets"
    assert kept("RestrictAddressFamilies=~AF_UNIX"), "no unix sockets (control socket, sd_notify)"
    assert kept("IPAddressDeny="), "an IP allow list would cut off hypervisors at other addresses"
    assert kept("PrivateDevices="), "a private /dev has no serial adapters"
    assert kept("SupplementaryGroups="), "without dialout the serial adapters cannot be opened"
    devices = found["DeviceAllow="]["description"]
    for tty in ("char-ttyUSB:rw", "char-ttyACM:rw", "char-ttyAMA:rw", "char-ttyS:rw"):
        assert tty in devices, f"{tty} is not allowed: {devices}"
    assert re.search(r"^SupplementaryGroups=.*\bdialout\b", UNIT.read_text(), re.M)


def test_the_exposure_check_can_fail(tmp_path: Path) -> None:
    """Teeth: the same unit with its sandbox off rates far above the bound."""
    loose = tmp_path / "edge-agent.service"
    kept = [line for line in UNIT.read_text().splitlines()
            if not line.startswith(("Private", "Protect", "Restrict", "SystemCall", "CapabilityBoundingSet"))]
    loose.write_text("\n".join(kept) + "\n")
    assert exposure(loose) > EXPOSURE_BOUND + 1


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


def test_the_units_filter_takes_privileged_calls_out_chown_included() -> None:
    allowed = unit_syscalls(UNIT.read_text())
    assert not {"chown", "fchown", "fchownat", "lchown"} & allowed
    assert not {"setuid", "mount", "reboot", "init_module", "ptrace", "swapon", "settimeofday"} & allowed


_UNDER_THE_UNIT = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to drop every capability and set the groups, as the unit does")


def _agent_under_the_units_filter(tmp_path: Path, broker: Broker, control_group: str,
                                  groups: list[str]) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """The real agent under the unit's own system call filter, with no capability at all, its primary group the
    first of ``groups`` and the others supplementary (as Group=, SupplementaryGroups= and an empty
    CapabilityBoundingSet= make it), its control socket given to ``control_group``."""
    syscalls = tmp_path / "syscalls"
    syscalls.write_text("\n".join(sorted(unit_syscalls(UNIT.read_text()))))
    config = write_site(tmp_path, broker_port=broker.port)
    config.write_text(config.read_text().replace("[control]\n", f'[control]\ngroup = "{control_group}"\n'))
    gids = [grp.getgrnam(name).gr_gid for name in groups]
    supplementary = ",".join(str(gid) for gid in gids[1:])
    log = tmp_path / "agent.log"
    command = ["setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", f"--regid={gids[0]}",
               f"--groups={supplementary}" if supplementary else "--clear-groups",
               "--", sys.executable, str(Path(__file__).with_name("seccomp_exec.py")), str(syscalls),
               sys.executable, "-m", "edge_agent", "run", "--config", str(config), "--log-format", "json"]
    with open(log, "wb") as out:
        agent = subprocess.Popen(command, stdout=out, stderr=out)
    wait_until(lambda: "control_listening" in log.read_text() or "control_socket_failed" in log.read_text()
               or agent.poll() is not None, timeout=30, what="the agent started")
    return agent, log, tmp_path / "control.sock"


@_UNDER_THE_UNIT
def test_the_control_socket_gets_the_services_group_under_the_units_system_call_filter(
        tmp_path: Path, broker: Broker) -> None:
    """control.group is the service's own group (Group=, as the bundled sites and the unit have it): the socket is
    created with it, so the unit's filter, which refuses chown(2), takes nothing away."""
    group = grp.getgrnam("users")
    agent, log, socket_path = _agent_under_the_units_filter(tmp_path, broker, group.gr_name, ["users"])
    try:
        assert "control_socket_failed" not in log.read_text(), log.read_text()[-2000:]
        assert socket_path.stat().st_gid == group.gr_gid
        assert ControlClient(socket_path).call("status")["ok"] is True
        status = Path(f"/proc/{agent.pid}/status").read_text()
        assert re.search(r"(?m)^CapEff:\s+0+$", status) and re.search(r"(?m)^Seccomp:\s+2$", status), status
    finally:
        agent.terminate()
        agent.wait(10)


@_UNDER_THE_UNIT
def test_another_control_group_is_refused_in_plain_words_and_the_agent_runs_on(tmp_path: Path, broker: Broker) -> None:
    """A group that is not the service's would need chown(2), which the unit refuses: the log says what to set,
    and the agent keeps running without its socket."""
    agent, log, socket_path = _agent_under_the_units_filter(tmp_path, broker, "users", ["daemon", "users"])
    try:
        text = log.read_text()
        assert "control_socket_failed" in text and "must be the service's own group" in text, text[-2000:]
        assert not socket_path.exists()
        time.sleep(1.0)
        assert agent.poll() is None, "the agent stopped"
    finally:
        agent.terminate()
        agent.wait(10)
