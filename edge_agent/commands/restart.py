"""Process-level parts of the config trial: at boot (before the agent is built) and re-executing the process."""

from __future__ import annotations

import os
import sys

from edge_agent.commands.trial import ConfigTrial, Marker
from edge_agent.config.load import LoadedConfig, load_config
from edge_agent.logs import get_logger

log = get_logger(__name__)


def boot(loaded: LoadedConfig) -> tuple[LoadedConfig, Marker | None]:
    """Look for a trial beside the config; a trial that died is rolled back and the previous config read."""
    trial = ConfigTrial(loaded.path)
    marker = trial.on_boot()
    if marker is not None and marker.state == "rolled_back":
        loaded = load_config(loaded.path)
    return loaded, marker


def fail_trial(loaded: LoadedConfig, error: BaseException) -> bool:
    """The agent failed to run: if it was trying a pushed config, roll it back (True: restart)."""
    trial = ConfigTrial(loaded.path)
    if not trial.trying:
        return False
    trial.roll_back(f"the agent failed with the pushed config: {type(error).__name__}: {str(error)[:200]}")
    return True


def reexec() -> None:
    """Replace this process with a fresh one on the same command line (same PID for systemd)."""
    log.warning("agent_reexec", argv=sys.orig_argv)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(sys.executable, sys.orig_argv)
