from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker

# The files whose tests take longest all told (`pytest --durations=0`, summed by file: 125 s down to 30 s), run
# first. The workers take whole files (`--dist loadfile` in pyproject.toml, in this order): a long file started last
# would keep the run going alone while the other workers wait, and the tests sharing a file's costly fixtures (the
# deploy tests' wheelhouse) stay on one worker. The rest of the suite follows in collection order.
LONG_FIRST = (
    "tests/faults/test_soak.py",
    "tests/deploy/test_install.py",
    "tests/faults/test_power_cut.py",
    "tests/faults/test_crash.py",
    "tests/bench/test_harness.py",
    "tests/web/test_page.py",
    "tests/contract/test_config_push.py",
    "tests/config/test_compiled.py",
    "tests/faults/test_outage.py",
    "tests/test_quality.py",
    "tests/sync/test_delivery.py",
    "tests/faults/test_corrupt.py",
    "tests/lorawan/test_codec_property.py",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run long soaks and full benchmarks")
    parser.addoption("--soak-seconds", type=float, default=120.0, help="length of the soak test")
    parser.addoption("--outage-seconds", type=float, default=180.0,
                     help="length of the long broker outage (with --run-slow)")
    parser.addoption("--power-cuts", type=int, default=0,
                     help="power cuts in the long power-cut run (with --run-slow; 0: its default)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=long_first_rank)
    for item in items:  # a run lengthened by an option gets the time it asks for, beyond the default timeout
        for marker in item.iter_markers("lasts"):
            seconds = float(config.getoption(marker.args[0])) * float(marker.kwargs.get("factor", 1.0))
            item.add_marker(pytest.mark.timeout(300 + seconds))
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long test: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def long_first_rank(item: pytest.Item) -> int:
    """Where ``item``'s file stands in LONG_FIRST (the files not listed after them all)."""
    path = item.nodeid.partition("::")[0]
    return LONG_FIRST.index(path) if path in LONG_FIRST else len(LONG_FIRST)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port, with persistence, for this test alone."""
    instance = Broker(tmp_path).start()
    yield instance
    instance.stop()
