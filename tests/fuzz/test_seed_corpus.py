"""Every seed of tests/fuzz/corpus/ (the poison inputs the gateway was once stopped by, and their kin) through its
target: each must come out clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fuzz import chirpstack, commands, config, control

CORPUS = Path(__file__).parent / "corpus"
TARGETS: dict[str, Callable[[bytes], None]] = {
    "chirpstack": chirpstack.target, "commands": commands.target, "config": config.target, "control": control.target,
}
SEEDS = sorted((name, path) for name in TARGETS for path in (CORPUS / name).iterdir())


def test_every_target_has_a_seed_corpus() -> None:
    assert {name for name, _ in SEEDS} == set(TARGETS)
    assert len(SEEDS) >= 60


@pytest.mark.parametrize(("name", "seed"), SEEDS, ids=[f"{name}/{path.name}" for name, path in SEEDS])
def test_seed_comes_out_clean(name: str, seed: Path) -> None:
    TARGETS[name](seed.read_bytes())
