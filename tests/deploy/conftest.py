"""A wheelhouse built offline: this venv's dependencies repacked, and the agent at three versions."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.wheels import PROJECT, build_agent_wheel, project_copy, repack_dependencies

__all__ = ["BROKEN", "FIRST", "GOOD", "INSTALL", "PROJECT", "Wheelhouse", "run_installer"]

INSTALL = PROJECT / "scripts" / "install.sh"
FIRST, GOOD, BROKEN = "0.1.0", "0.2.0", "0.3.0"
# The interpreter behind this venv: the installer makes its own virtual environments from it.
BASE_PYTHON: str = getattr(sys, "_base_executable", sys.executable)


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    versions: tuple[str, ...]


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """Made by scripts/build-wheelhouse.sh (of a copy of this tree at 0.1.0) from a local "index" of repacked
    wheels, offline; then 0.2.0 and a broken 0.3.0 are added beside."""
    base = tmp_path_factory.mktemp("wheels")
    index = base / "index"
    repack_dependencies(index)
    out = base / "wheelhouse"
    tree = project_copy(FIRST, base / "work")
    result = subprocess.run(
        [str(tree / "scripts" / "build-wheelhouse.sh"), "--out", str(out), "--arch", os.uname().machine,
         "--python", sys.executable, "--", "--isolated", "--no-index", "--find-links", str(index)],
        check=False, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    build_agent_wheel(GOOD, out, base / "work")
    build_agent_wheel(BROKEN, out, base / "work", crash_at_start=True)
    return Wheelhouse(out, (FIRST, GOOD, BROKEN))


def run_installer(
    root: Path, *args: str, script: Path = INSTALL, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PIP_")}, **(env or {})}
    result = subprocess.run(
        ["bash", str(script), "--root", str(root), "--python", BASE_PYTHON, *args],
        check=False, capture_output=True, text=True, timeout=300, env=env,
    )
    if check:
        assert result.returncode == 0, f"install.sh {' '.join(args)} failed:\n{result.stderr}"
    return result


SITE = """
gateway_id = "test-gw"

[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603

[[devices]]
driver = "simulated"
name = "meter-1"
points = [{ name = "voltage", unit = "V" }]
"""


@pytest.fixture(scope="session")
def site_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("site") / "site.toml"
    path.write_text(SITE)
    return path


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse, site_file: Path) -> Path:
    """A staging tree with 0.1.0 installed by the wheelhouse's own install.sh, as on a gateway."""
    root = tmp_path_factory.mktemp("root")
    run_installer(root, "--wheelhouse", str(wheelhouse.path), "--version", FIRST, "--config", str(site_file),
                  script=wheelhouse.path / "install.sh")
    return root
