"""``bench.procs.free_block``: blocks of consecutive ports that the test suite's own ports never fall in."""

from __future__ import annotations

import socket

import pytest

from bench.procs import BLOCKS_FIRST, free_block
from tests.support.ports import FIRST_PORT


def test_each_worker_takes_its_blocks_apart_and_below_the_suites_own_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = []
    for worker in ("gw0", "gw1", "gw3", "gw7"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        base = free_block(20)
        spans.append(range(base, base + 20))
    assert all(span.start >= BLOCKS_FIRST and span.stop <= FIRST_PORT for span in spans), spans
    assert len({port for span in spans for port in span}) == 4 * 20, f"two workers' blocks overlap: {spans}"


def test_a_block_skips_a_port_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw5")
    first = free_block(5)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", first + 2))
        taken.listen()
        second = free_block(5)
    assert first + 2 not in range(second, second + 5)
