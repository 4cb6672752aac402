"""The benchmark harness: ``python -m bench`` (quick, about nine minutes on two cores) or ``--full``.

Runs every scenario (commune load, stress, backlog drain, Modbus efficiency, peer comparison, the floor of CPU per
point, footprint), prints one table and writes the figures as JSON (default ``bench/results/bench-<time>.json``,
git-ignored). Each scenario states its workload and its limit; see docs/performance.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import backlog, commune, cpu_floor, footprint, modbus_efficiency, peer, stress, targets
from bench.procs import RESULTS
from bench.scenario import Result, table
from edge_agent.logs import setup_logging

SCENARIOS: dict[str, Callable[[str], Result]] = {
    "commune": commune.run, "stress": stress.run, "backlog": backlog.run, "modbus": modbus_efficiency.run,
    "peer": peer.run, "floor": cpu_floor.run, "footprint": footprint.run,
}


def _machine() -> dict[str, object]:
    return {"cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "load average before": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help="the full mode (long windows, load ramps)")
    group.add_argument("--tiny", action="store_true", help="seconds-long smoke run (the harness's own test)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--out", type=Path, default=None, help="JSON file of figures")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "tiny" if args.tiny else "quick"
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    setup_logging("console", "WARNING")
    machine, began = _machine(), time.monotonic()
    print(f"edge-agent bench, {mode} mode: {machine}", flush=True)
    results: list[Result] = []
    for name in names:
        print(f"... {name}", flush=True)
        results.append(SCENARIOS[name](mode))
    print(table(results))
    print(targets.render(targets.verdicts(results)))
    out = args.out or RESULTS / f"bench-{time.strftime('%Y%m%dT%H%M%S')}-{mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"mode": mode, "machine": machine, "seconds": round(time.monotonic() - began, 1),
                               "scenarios": [r.as_json() for r in results]}, indent=1, default=str))
    print(f"\nfigures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
