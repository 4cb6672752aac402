"""Every site config that ships in configs/ passes `edge-agent config check`, the way an installer runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import PROJECT

CONFIGS = sorted((PROJECT / "configs").glob("*.toml"))
COMMUNES = ("esternay", "belleville-sur-meuse", "porte-des-vosges-meridionales")


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge_agent", "config", "check", str(path)],
                          check=False, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_bundled_config_passes_config_check(path: Path) -> None:
    result = check(path)
    assert result.returncode == 0, result.stderr
    assert ": ok: gateway " in result.stdout


@pytest.mark.parametrize("site", COMMUNES)
def test_each_commune_has_a_config_without_warnings(site: str) -> None:
    path = PROJECT / "configs" / f"{site}.toml"
    assert path.exists(), f"configs/{site}.toml is missing"
    result = check(path)
    assert result.returncode == 0, result.stderr
    assert "warning:" not in result.stderr, result.stderr
