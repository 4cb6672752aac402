from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from edge_agent.modbus.adapter import ModbusLink
from edge_agent.modbus.bus import Line, frame_silence


@pytest.mark.parametrize(("baud", "silence_ms"), [(9600, 4.01), (19200, 2.005), (38400, 1.75), (115200, 1.75)])
def test_frame_silence_is_three_and_a_half_characters(baud: int, silence_ms: float) -> None:
    assert frame_silence(baud) * 1000 == pytest.approx(silence_ms, abs=0.001)


def test_line_runs_one_transaction_at_a_time_with_silence_between() -> None:
    spans: list[tuple[float, float]] = []

    async def user(line: Line) -> None:
        async with line.transaction():
            start = time.monotonic()
            await asyncio.sleep(0.01)
            spans.append((start, time.monotonic()))

    async def scenario() -> int:
        # No I/O happens here: the link is only carried by the line, never opened.
        line = Line(ModbusLink(host="127.0.0.1", port=1), silence=0.02)
        await asyncio.gather(*(user(line) for _ in range(5)))
        return line.transactions

    assert asyncio.run(scenario()) == 5
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end + 0.019, "the next frame must wait for the inter-frame silence"
