"""Coverage-guided fuzzing of every target (atheris, libFuzzer's engine): a budget of inputs split across them.

    nice -n 19 .venv/bin/python -m tests.fuzz.run --inputs 1000000             # every target
    nice -n 19 .venv/bin/python -m tests.fuzz.run --inputs 50000 --target config --target codecs
    .venv/bin/python -m tests.fuzz.run --replay build/fuzz/config/crashes/crash-1234 --target config

Each target runs in a process of its own (``tests.fuzz.harness``), started again after a crash until its share of
the budget is spent. Per target, under ``build/fuzz/<target>/``: ``corpus/`` the inputs libFuzzer found
interesting, ``crashes/`` the reproducers (``crash-*`` an escaped exception or broken promise, ``timeout-*`` an
input over the per-input time limit, ``oom-*`` over the memory limit), ``fuzz.log`` its output. At the end the new
inputs are minimised into ``tests/fuzz/corpus/<target>/`` (libFuzzer's merge: only those that reach code the
committed corpus does not, and no longer than ``--save-max-len``), a table is printed and the figures are written
to ``build/fuzzing.json`` for ``tests/faults/report.py --fuzzing``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fuzz.targets import CORPUS, MODULES  # noqa: E402

WORK = ROOT / "build" / "fuzz"
FIGURES = ROOT / "build" / "fuzzing.json"
# Shares of the budget: the cheap, pure parsers get more inputs than the targets that go through a running agent.
WEIGHTS = {"codecs": 3.0, "config": 2.5, "chirpstack": 2.0, "commands": 1.5, "control": 1.0}
MAX_RESTARTS = 10  # a target that keeps crashing stops here: its reproducers are what matters
STATUS = re.compile(r"cov: (\d+) ft: (\d+)")
DONE = re.compile(r"^Done (\d+) runs in", re.MULTILINE)


@dataclass
class Outcome:
    """What one target's run did."""

    target: str
    inputs: int = 0
    coverage: int = 0
    features: int = 0
    crashes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    rss_start_kib: int = 0
    rss_end_kib: int = 0
    rss_slope_kib_per_100k: float = 0.0
    rss_slope_second_half_kib_per_100k: float = 0.0  # after warm-up and the corpus's early growth
    seconds: float = 0.0
    saved: int = 0

    def row(self) -> str:
        return (f"| {self.target} | {self.inputs} | {self.coverage} | {self.features} | {len(self.crashes)} | "
                f"{len(self.hangs)} | {self.rss_start_kib / 1024:.1f} | {self.rss_end_kib / 1024:.1f} | "
                f"{self.rss_slope_kib_per_100k:+.0f} | {self.rss_slope_second_half_kib_per_100k:+.0f} | "
                f"{self.seconds:.0f} |")


HEADER = ("| target | inputs | coverage (edges) | features | crashes | hangs | RSS start (MiB) | RSS end (MiB) | "
          "RSS slope (KiB per 100k inputs) | second half | seconds |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def split(total: int, targets: list[str]) -> dict[str, int]:
    """The budget by target, in proportion to WEIGHTS, adding up to ``total``."""
    weight = sum(WEIGHTS[name] for name in targets)
    shares = {name: int(total * WEIGHTS[name] / weight) for name in targets}
    shares[targets[0]] += total - sum(shares.values())
    return shares


def slope(samples: list[list[int]]) -> float:
    """Least-squares growth of resident memory, KiB per 100,000 inputs (0 with fewer than three samples)."""
    if len(samples) < 3:
        return 0.0
    xs = [float(n) for n, _ in samples]
    ys = [float(kib) for _, kib in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread * 100_000


class TargetRun:
    """One target's share of the budget, in as many harness processes as crashes make it need."""

    def __init__(self, name: str, budget: int, args: argparse.Namespace) -> None:
        self.name, self.budget, self.args = name, budget, args
        self.work = args.work / name
        self.corpus = self.work / "corpus"
        self.crashes = self.work / "crashes"
        self.log = self.work / "fuzz.log"
        self.stats = self.work / "stats.json"

    def command(self, *flags: str) -> list[str]:
        return [sys.executable, "-m", "tests.fuzz.harness", self.name, str(self.stats),
                f"-timeout={self.args.timeout}", f"-rss_limit_mb={self.args.rss_limit_mb}", *flags]

    def run(self) -> Outcome:
        for folder in (self.corpus, self.crashes):
            folder.mkdir(parents=True, exist_ok=True)
        outcome = Outcome(self.name)
        started = time.monotonic()
        samples: list[list[int]] = []
        with open(self.log, "w") as log:
            for _ in range(MAX_RESTARTS):
                log.flush()
                offset = self.log.stat().st_size
                left = self.budget - outcome.inputs
                if left <= 0:
                    break
                before = set(os.listdir(self.crashes))
                self.stats.unlink(missing_ok=True)
                flags = [f"-runs={left}", f"-max_len={self.args.max_len}", f"-artifact_prefix={self.crashes}/",
                         "-print_final_stats=1", str(self.corpus), str(CORPUS / self.name)]
                code = subprocess.run(self.command(*flags), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                      check=False).returncode
                stats = json.loads(self.stats.read_text()) if self.stats.exists() else {"inputs": 0, "samples": []}
                done = DONE.findall(self.log.read_text(errors="replace")[offset:])
                outcome.inputs += int(done[-1]) if done else stats["inputs"]  # a crashed round: as last noted
                if len(stats["samples"]) > len(samples):  # the longest round shows memory over time best
                    samples = stats["samples"]
                found = sorted(set(os.listdir(self.crashes)) - before)
                outcome.hangs += [str(self.crashes / name) for name in found if name.startswith("timeout-")]
                outcome.crashes += [str(self.crashes / name) for name in found if not name.startswith("timeout-")]
                if code != 0 and not found:
                    outcome.crashes.append(f"{self.log} (exit {code}, no reproducer written)")
                if code == 0 or stats["inputs"] == 0:
                    break
        outcome.seconds = time.monotonic() - started
        text = self.log.read_text(errors="replace")
        coverage = STATUS.findall(text)
        if coverage:
            outcome.coverage, outcome.features = (int(value) for value in coverage[-1])
        if samples:
            outcome.rss_start_kib, outcome.rss_end_kib = samples[0][1], samples[-1][1]
            outcome.rss_slope_kib_per_100k = round(slope(samples[1:]), 1)  # the first sample is the warm-up
            outcome.rss_slope_second_half_kib_per_100k = round(slope(samples[len(samples) // 2:]), 1)
        if self.args.save:
            outcome.saved = self.save()
        return outcome

    def save(self) -> int:
        """Minimise the new inputs into the committed corpus; how many were kept."""
        committed = CORPUS / self.name
        before = set(os.listdir(committed))
        fresh = self.work / "fresh"  # only the new inputs short enough to commit
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        for path in self.corpus.iterdir():
            if path.stat().st_size <= self.args.save_max_len:
                shutil.copy(path, fresh / path.name)
        wrapper = self.work / "harness.sh"  # libFuzzer's merge starts the harness again by its first argument
        wrapper.write_text(f"#!/bin/sh\ncd {ROOT}\nexec {sys.executable} -m tests.fuzz.harness {self.name} "
                           f"{self.work / 'merge-stats.json'} \"$@\"\n")
        wrapper.chmod(0o755)
        with open(self.work / "merge.log", "w") as log:
            # Edges without hit counts: an input is kept for code the corpus never reaches, not for a new count.
            subprocess.run(self.command("-merge=1", "-use_counters=0", str(committed), str(fresh)), cwd=ROOT,
                           stdout=log, stderr=subprocess.STDOUT, check=False,
                           env={**os.environ, "EDGE_AGENT_FUZZ_SELF": str(wrapper)})
        shutil.rmtree(fresh, ignore_errors=True)
        return len(set(os.listdir(committed)) - before)


def merge_figures(previous: dict[str, Any] | None, run: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures with this run's rows in place of the same targets' earlier ones; the other targets' rows kept
    with the runs that made them (a target run again after a fix replaces its own row only)."""
    kept = [row for row in (previous or {}).get("targets", []) if row["target"] not in run["targets"]]
    runs = [earlier for earlier in (previous or {}).get("runs", [])
            if set(earlier["targets"]) & {row["target"] for row in kept}]
    return {"runs": [*runs, run], "targets": sorted([*kept, *rows], key=lambda row: str(row["target"]))}


def replay(path: Path, name: str) -> int:
    """Run one reproducer through its target, uninstrumented, and show what escapes."""
    from tests.fuzz.targets import close, target

    try:
        target(name)(path.read_bytes())
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        close()
    print(f"{path}: clean")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs in all, split across the targets")
    parser.add_argument("--target", action="append", choices=sorted(MODULES), help="only this target (repeatable)")
    parser.add_argument("--timeout", type=int, default=10, help="per-input time limit (s): over it is a hang")
    parser.add_argument("--rss-limit-mb", type=int, default=1024, help="a harness over this is a crash (oom)")
    parser.add_argument("--max-len", type=int, default=4096, help="longest input libFuzzer makes (bytes)")
    parser.add_argument("--save-max-len", type=int, default=1024, help="longest new input kept in the corpus")
    parser.add_argument("--no-save", dest="save", action="store_false", help="leave tests/fuzz/corpus/ as it is")
    parser.add_argument("--jobs", type=int, default=1, help="targets run at once")
    parser.add_argument("--replay", type=Path, help="run this reproducer through --target and stop")
    parser.add_argument("--work", type=Path, default=WORK, help="where the runs' corpora, reproducers, logs go")
    parser.add_argument("--figures", type=Path, default=FIGURES,
                        help="where the figures go (JSON): this run's targets replace their rows, others are kept")
    parser.add_argument("--fresh", action="store_true", help="figures of this run alone, earlier rows dropped")
    args = parser.parse_args(argv)
    if args.replay:
        if not args.target or len(args.target) != 1:
            parser.error("--replay needs one --target")
        return replay(args.replay, args.target[0])
    targets = args.target or sorted(MODULES)
    budget = split(args.inputs, targets)
    load_before, started_at, started = os.getloadavg(), time.time(), time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda name: TargetRun(name, budget[name], args).run(), targets))
    seconds = time.monotonic() - started
    load_after = os.getloadavg()
    print(HEADER)
    for outcome in outcomes:
        print(outcome.row())
    total = sum(outcome.inputs for outcome in outcomes)
    print(f"\n{total} inputs in {seconds:.0f} s; load average {load_before[0]:.2f} at start, "
          f"{load_after[0]:.2f} at end; corpus inputs kept: {sum(outcome.saved for outcome in outcomes)}")
    for outcome in outcomes:
        for path in outcome.crashes + outcome.hangs:
            print(f"reproduce: .venv/bin/python -m tests.fuzz.run --target {outcome.target} --replay {path}")
    command = "nice -n 19 .venv/bin/python -m tests.fuzz.run " + " ".join(sys.argv[1:] if argv is None else argv)
    run = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)), "command": command.strip(),
           "seconds": round(seconds), "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
           "cores": os.cpu_count(), "timeout_s": args.timeout, "targets": targets}
    previous = json.loads(args.figures.read_text()) if args.figures.exists() and not args.fresh else None
    args.figures.parent.mkdir(parents=True, exist_ok=True)
    args.figures.write_text(json.dumps(merge_figures(previous, run, [asdict(o) for o in outcomes]), indent=2) + "\n")
    print(f"figures written to {args.figures}")
    return 1 if any(outcome.crashes or outcome.hangs for outcome in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
