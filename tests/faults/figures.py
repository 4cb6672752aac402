"""The suite's figures: every fault test records what it injected and what it checked into one JSON file.

``tests/faults/report.py`` turns that file into ``docs/reliability.md``. The file is rewritten scenario by
scenario (read, update, write under a lock), so a partial run keeps the figures of the scenarios it ran.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RESULTS = ROOT / "build" / "reliability.json"


def results_path() -> Path:
    return Path(os.environ.get("EDGE_AGENT_FAULTS_RESULTS", DEFAULT_RESULTS))


def record(scenario: str, *, promise: str, faults: int, checked: int, lost: int, duplicated: int,
           **details: Any) -> None:
    """Note one scenario's figures (called once the test has checked them, pass or fail)."""
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        data.setdefault("scenarios", {})[scenario] = {
            "promise": promise, "faults": faults, "checked": checked, "lost": lost, "duplicated": duplicated,
            "details": details, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
