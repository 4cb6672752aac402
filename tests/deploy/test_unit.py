"""The systemd unit: `systemd-analyze verify` in the staged install, and its security exposure rating."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import PROJECT

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
