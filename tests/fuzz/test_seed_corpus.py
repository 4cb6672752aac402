"""Every seed of tests/fuzz/corpus/ (the poison inputs the gateway was once stopped by, their kin, the vendors'
examples and what coverage-guided runs kept) through its target: each must come out clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.targets import MODULES, seeds, target

SEEDS = [(name, path) for name in MODULES for path in seeds(name)]


def test_every_target_has_a_seed_corpus() -> None:
    assert {name for name, _ in SEEDS} == set(MODULES)
    assert len(SEEDS) >= 60


@pytest.mark.parametrize(("name", "seed"), SEEDS, ids=[f"{name}/{path.name}" for name, path in SEEDS])
def test_seed_comes_out_clean(name: str, seed: Path) -> None:
    target(name)(seed.read_bytes())
