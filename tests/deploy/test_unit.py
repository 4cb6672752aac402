"""The systemd unit: `systemd-analyze verify` in the staged install, and its security exposure rating."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import PROJECT

UNIT = PROJECT / "systemd" / "edge-agent.service"
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
    result = analyze("verify", f"--root={installed}", "edge-agent.service")
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
