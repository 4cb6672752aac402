"""Wheels for the installer tests, made without the network.

``repack_dependencies`` turns the distributions installed in this venv (the agent's runtime closure)
back into wheels, the way a wheelhouse from ``scripts/build-wheelhouse.sh`` would hold them.
``build_agent_wheel`` builds this project's wheel at any version from a temporary copy of the tree.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

PROJECT = Path(__file__).resolve().parents[2]
_SKIP_DIST_INFO = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}


def runtime_closure() -> list[metadata.Distribution]:
    """The installed distributions the agent needs at run time, with its page (the web extra), markers evaluated."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(text) for text in [*project["dependencies"], *project["optional-dependencies"]["web"]]]
    found: dict[str, metadata.Distribution] = {}
    env: dict[str, str] = {**{k: str(v) for k, v in default_environment().items()}, "extra": ""}
    while todo:
        requirement = todo.pop()
        key = _normal(requirement.name)
        if key in found or (requirement.marker is not None and not requirement.marker.evaluate(env)):
            continue
        dist = metadata.distribution(requirement.name)
        found[key] = dist
        todo.extend(Requirement(text) for text in dist.requires or [])
    return list(found.values())


def repack_dependencies(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    return [_repack(dist, target) for dist in runtime_closure()]


def _repack(dist: metadata.Distribution, target: Path) -> Path:
    name = _normal(dist.metadata["Name"]).replace("-", "_")
    path = target / f"{name}-{dist.version}-{_tag(dist.read_text('WHEEL') or '')}.whl"
    if path.exists():
        return path
    records: list[str] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or []:
            relative = str(file)
            if relative.startswith("..") or "__pycache__" in relative:
                continue  # console scripts (pip makes them again) and byte code
            if ".dist-info/" in relative and relative.rsplit("/", 1)[1] in _SKIP_DIST_INFO:
                continue
            data = Path(str(file.locate())).read_bytes()
            archive.writestr(relative, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{relative},sha256={digest},{len(data)}")
        dist_info = next(str(f).split("/")[0] for f in dist.files or [] if ".dist-info/" in str(f))
        records.append(f"{dist_info}/RECORD,,")
        archive.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return path


def _tag(wheel_meta: str) -> str:
    """The compressed tag set of a WHEEL file (``py2.py3-none-any``)."""
    tags = [line.split(": ", 1)[1].split("-") for line in wheel_meta.splitlines() if line.startswith("Tag: ")]
    if not tags:
        return "py3-none-any"
    parts = [sorted({tag[i] for tag in tags}) for i in range(3)]
    return "-".join(".".join(part) for part in parts)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_copy(version: str, work: Path, *, crash_at_start: bool = False) -> Path:
    """A copy of this source tree at ``version``; ``crash_at_start`` makes a broken release, one that installs,
    answers ``--version`` and ``config check``, but whose daemon dies as it starts (exit status 3)."""
    tree = work / f"edge-agent-{version}"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    for name in ("edge_agent", "drivers", "configs", "systemd", "docs", "scripts"):
        if (PROJECT / name).exists():
            shutil.copytree(PROJECT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(PROJECT / "pyproject.toml", tree / "pyproject.toml")
    _ensure_build_inputs(tree)
    _set_version(tree, version)
    if crash_at_start:
        with open(tree / "edge_agent/agent.py", "a") as handle:
            handle.write(
                "\n\ndef run_forever(*args: object) -> int:  # a broken release, for the rollback test\n"
                "    raise SystemExit(3)\n"
            )
    return tree


def build_agent_wheel(version: str, target: Path, work: Path, *, crash_at_start: bool = False) -> Path:
    """This project's wheel with ``version``."""
    tree = project_copy(version, work, crash_at_start=crash_at_start)
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(target), str(tree)],
        check=True, capture_output=True, timeout=120,
    )
    return target / f"edge_agent-{version}-py3-none-any.whl"


def _ensure_build_inputs(tree: Path) -> None:
    """Files pyproject.toml names that may not exist in a tree under construction."""
    readme = PROJECT / "README.md"
    (tree / "README.md").write_text(readme.read_text() if readme.exists() else "edge-agent\n")
    asyncapi = tree / "docs" / "asyncapi.yaml"
    if not asyncapi.exists():
        asyncapi.parent.mkdir(parents=True, exist_ok=True)
        asyncapi.write_text("asyncapi: 3.0.0\n")


def _set_version(tree: Path, version: str) -> None:
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text(), count=1))
    init = tree / "edge_agent" / "__init__.py"
    init.write_text(re.sub(r'(?m)^__version__ = ".*"$', f'__version__ = "{version}"', init.read_text(), count=1))
