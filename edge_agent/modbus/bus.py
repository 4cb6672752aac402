"""Lines: one lock per physical connection, with the silence an RTU line needs between frames."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from edge_agent.modbus.adapter import ModbusLink

_CHARACTER_BITS = 11  # start + 8 data + parity (or second stop) + stop


def frame_silence(baudrate: int) -> float:
    """3.5 character times, fixed at 1.75 ms above 19,200 baud (Modbus over serial line, 2.5.1.1)."""
    if baudrate > 19_200:
        return 0.00175
    return 3.5 * _CHARACTER_BITS / baudrate


class Line:
    """A link shared by the devices behind it: strictly one transaction at a time, FIFO.

    ``silence`` is kept between the end of one transaction and the start of the next (RTU); TCP lines
    use 0. The lock is fair (asyncio.Lock wakes waiters in order), so a device waiting for its turn is
    delayed by at most one transaction per other device queued before it.
    """

    def __init__(self, link: ModbusLink, silence: float = 0.0) -> None:
        self.link = link
        self.silence = silence
        self.transactions = 0
        self._lock = asyncio.Lock()
        self._quiet_until = 0.0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ModbusLink]:
        async with self._lock:
            wait = self._quiet_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield self.link
            finally:
                self.transactions += 1
                self._quiet_until = time.monotonic() + self.silence

    def close(self) -> None:
        self.link.close()
