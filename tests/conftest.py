from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run long soaks and full benchmarks")
    parser.addoption("--soak-seconds", type=float, default=120.0, help="length of the soak test")
    parser.addoption("--outage-seconds", type=float, default=180.0,
                     help="length of the long broker outage (with --run-slow)")
    parser.addoption("--power-cuts", type=int, default=0,
                     help="power cuts in the long power-cut run (with --run-slow; 0: its default)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
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


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port, with persistence, for this test alone."""
    instance = Broker(tmp_path).start()
    yield instance
    instance.stop()
