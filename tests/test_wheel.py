"""A gateway installs a wheel, not a checkout: the wheel must carry the drivers, the configs and the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.broker import Broker
from tests.support.site import demo_site_text

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, timeout=300,
    )
    return next(out.glob("edge_agent-*.whl"))


def test_wheel_carries_drivers_and_configs(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    repo_drivers = [p.relative_to(ROOT).as_posix() for p in (ROOT / "drivers").rglob("*") if p.is_file()]
    repo_drivers = [p for p in repo_drivers if "__pycache__" not in p]
    assert repo_drivers, "drivers/ is empty"
    for path in repo_drivers:
        assert f"edge_agent/_bundled/{path}" in names, f"{path} is missing from the wheel"
    assert "edge_agent/_bundled/configs/demo.toml" in names
    assert "edge_agent/_bundled/systemd/edge-agent.service" in names
    for unit in ("edge-agent-web.socket", "edge-agent-web.service"):
        assert f"edge_agent/_bundled/systemd/{unit}" in names
    for asset in ("static/app.js", "static/style.css", "templates/index.html", "templates/base.html"):
        assert f"edge_agent/web/{asset}" in names, f"the page's {asset} must ship in the wheel (no build step)"
    assert "edge_agent/_bundled/docs/asyncapi.yaml" in names
    assert any(name.endswith("entry_points.txt") for name in names)


def test_installed_wheel_finds_its_files_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    script = (
        "import edge_agent, edge_agent.resources as r, sys;"
        "print(edge_agent.__file__); print(r.drivers_dir()); print(r.bundled_config('demo'))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            check=True, timeout=60)
    module, drivers, demo = result.stdout.split()
    assert module.startswith(str(target)), "the test did not import the wheel's code"
    assert drivers.startswith(str(target)) and demo.startswith(str(target))
    check = subprocess.run([sys.executable, "-m", "edge_agent", "config", "check", demo], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


def test_the_demo_runs_from_the_installed_wheel_alone(wheel: Path, tmp_path: Path, broker: Broker) -> None:
    """The agent of the wheel, outside the checkout, loads its Modbus profiles and LoRaWAN codecs from the bundle
    and runs the bundled demo site end to end: Modbus and LoRaWAN readings reach a real broker."""
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = "import edge_agent.resources as r; print(r.bundled_config('demo'))"
    bundled = subprocess.run([sys.executable, "-c", where], cwd=tmp_path, env=env, capture_output=True, text=True,
                             check=True, timeout=60)
    demo = Path(bundled.stdout.strip())
    assert demo.is_relative_to(target)
    config = tmp_path / "demo.toml"
    config.write_text(demo_site_text(demo.read_text(), "127.0.0.1", broker.port))
    result = subprocess.run([sys.executable, "-m", "edge_agent", "demo", "--config", str(config), "--duration", "6",
                             "--state-dir", str(tmp_path / "state")], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "counter-halle" in result.stdout, "LoRaWAN uplinks decoded by a bundled codec should reach the broker"
    assert re.search(r"readings .*(cabinet|meter)", result.stdout), result.stdout[-2000:]
