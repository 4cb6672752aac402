"""The agent as its unit starts it: the environment of systemd/edge-agent.service, its bytecode compiled as
scripts/install.sh compiles it (``python -m edge_agent.bytecode``), into a folder of the harness's own."""

from __future__ import annotations

import functools
import hashlib
import json
import shlex
import subprocess
import sys

from bench.procs import REPO, RESULTS

UNIT = REPO / "systemd" / "edge-agent.service"
PYCACHE = RESULTS / "pycache-unit"  # stands for /opt/edge-agent/current/pycache
_PREFIX = "PYTHONPYCACHEPREFIX"


def unit_environment(unit_text: str) -> dict[str, str]:
    """The variables the unit's ``Environment=`` lines set, later lines winning (as systemd reads them)."""
    env: dict[str, str] = {}
    for line in unit_text.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "Environment":
            for item in shlex.split(value):
                name, _, setting = item.partition("=")
                env[name] = setting
    return env


@functools.cache
def agent_environment() -> dict[str, str]:
    """The unit's environment for an agent started by the harness, the bytecode folder it names compiled first
    (once a run: what is compiled already is only checked). The folder is named after that environment, so the
    bytecode of another unit's flags (optimisation, column positions) is never taken."""
    env = unit_environment(UNIT.read_text())
    if _PREFIX in env:
        flags = hashlib.sha256(json.dumps(sorted(env.items())).encode()).hexdigest()[:12]
        folder = PYCACHE.with_name(f"{PYCACHE.name}-{flags}")
        env[_PREFIX] = str(folder)
        subprocess.run([sys.executable, "-m", "edge_agent.bytecode", str(folder)], check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL)
    return env
