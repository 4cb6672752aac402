"""The coverage-guided runner (``python -m tests.fuzz.run``): its budget split, its memory slope, and a short run
of one target end to end (atheris, a real harness process, the table and the figures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.run import ROOT, WEIGHTS, merge_figures, slope, split
from tests.fuzz.targets import MODULES, seeds


def test_every_target_has_a_share_and_the_shares_add_up() -> None:
    assert set(WEIGHTS) == set(MODULES)
    shares = split(1_000_000, sorted(MODULES))
    assert sum(shares.values()) == 1_000_000
    assert shares["codecs"] > shares["control"] > 0
    assert split(7, ["config"]) == {"config": 7}


def test_slope_is_growth_per_100k_inputs() -> None:
    assert slope([[0, 1000], [50_000, 1500], [100_000, 2000]]) == pytest.approx(1000)
    assert slope([[0, 1000], [50_000, 1000], [100_000, 1000]]) == 0
    assert slope([[0, 1000], [1, 5000]]) == 0  # too few samples to tell


def test_a_short_run_counts_its_inputs_and_finds_nothing(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    figures = tmp_path / "fuzzing.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", "--inputs", "600", "--target", "config", "--no-save",
         "--work", str(tmp_path / "work"), "--figures", str(figures)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| config | 600 |" in done.stdout, done.stdout
    row = json.loads(figures.read_text())["targets"][0]
    assert row["inputs"] == 600 and row["crashes"] == [] and row["hangs"] == []
    assert row["coverage"] > 0 and row["rss_start_kib"] > 0
    log = (tmp_path / "work" / "config" / "fuzz.log").read_text()
    assert f"{len(seeds('config'))} files found" in log  # the committed corpus seeded the run


def test_replay_runs_one_input_through_its_target() -> None:
    seed = seeds("config")[0]
    done = subprocess.run([sys.executable, "-m", "tests.fuzz.run", "--target", "config", "--replay", str(seed)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and f"{seed}: clean" in done.stdout, done.stdout + done.stderr


def test_a_target_run_again_replaces_its_own_row_only() -> None:
    first = {"command": "first", "targets": ["codecs", "config"]}
    figures = merge_figures(None, first, [{"target": "codecs", "inputs": 10}, {"target": "config", "inputs": 20}])
    again = {"command": "again", "targets": ["config"]}
    figures = merge_figures(figures, again, [{"target": "config", "inputs": 5}])
    assert figures["targets"] == [{"target": "codecs", "inputs": 10}, {"target": "config", "inputs": 5}]
    assert [run["command"] for run in figures["runs"]] == ["first", "again"]
    last = merge_figures(figures, {"command": "all", "targets": ["codecs", "config"]},
                         [{"target": "codecs", "inputs": 1}, {"target": "config", "inputs": 2}])
    assert [run["command"] for run in last["runs"]] == ["all"]  # runs whose rows are all replaced are dropped
