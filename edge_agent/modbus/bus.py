"""Lines: one lock per physical connection, with the silence an RTU line needs between frames."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

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

    def transaction(self) -> _Turn:
        """``async with line.transaction() as link``: the link, alone, for one request."""
        return _Turn(self)

    def close(self) -> None:
        self.link.close()


class _Turn:
    """One transaction's hold on a line (a plain class: it runs for every request, a generator costs more)."""

    __slots__ = ("_line",)

    def __init__(self, line: Line) -> None:
        self._line = line

    async def __aenter__(self) -> ModbusLink:
        line = self._line
        await line._lock.acquire()
        if line.silence:
            wait = line._quiet_until - time.monotonic()
            if wait > 0:
                try:
                    await asyncio.sleep(wait)
                except BaseException:
                    line._lock.release()
                    raise
        return line.link

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        line = self._line
        line.transactions += 1
        if line.silence:
            line._quiet_until = time.monotonic() + line.silence
        line._lock.release()
