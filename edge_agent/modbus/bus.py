"""Lines: one lock per physical connection (or a few turns, for a TCP server taking several requests at once),
with the silence an RTU line needs between frames."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from types import TracebackType

from edge_agent.modbus.adapter import ModbusLink
from edge_agent.modbus.rtu import frame_silence

__all__ = ["Line", "frame_silence"]

class Line:
    """A link shared by the devices behind it: one transaction at a time by default, FIFO.

    ``silence`` is kept between the end of one transaction and the start of the next (RTU); TCP lines
    use 0. The lock is fair (asyncio.Lock wakes waiters in order), so a device waiting for its turn is
    delayed by at most one transaction per other device queued before it.

    ``depth`` above 1 (Modbus TCP only, for servers that take several requests at once) lets that many transactions
    be in flight together: a turn then holds as many of them as the requests it sends together, still first come,
    first served.
    """

    def __init__(self, link: ModbusLink, silence: float = 0.0, depth: int = 1) -> None:
        if depth < 1 or (depth > 1 and silence):
            raise ValueError("a line takes at least one transaction at a time, and only one with a silence (RTU)")
        self.link = link
        self.silence = silence
        self.depth = depth
        self.transactions = 0
        self._lock = asyncio.Lock()
        self._quiet_until = 0.0
        self._free = depth
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def transaction(self, requests: int = 1) -> _Turn | _Turns:
        """``async with line.transaction() as link``: the link, alone (or beside at most ``depth - requests`` other
        transactions), for ``requests`` requests in flight together (at most ``depth``)."""
        if self.depth == 1:
            return _Turn(self)
        return _Turns(self, min(max(requests, 1), self.depth))

    def close(self) -> None:
        self.link.close()

    async def _take(self, count: int) -> None:
        if self._free >= count and not self._waiters:
            self._free -= count
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (count, waiter)
        self._waiters.append(entry)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._give(count)  # granted just as it was cancelled: hand the turns on
            else:
                self._waiters.remove(entry)
                self._give(0)
            raise

    def _give(self, count: int) -> None:
        self._free += count
        waiters = self._waiters
        while waiters and waiters[0][0] <= self._free:
            wanted, waiter = waiters.popleft()
            self._free -= wanted
            waiter.set_result(None)


class _Turns:
    """``requests`` of a line's ``depth`` transactions in flight (a line that takes several at once)."""

    __slots__ = ("_count", "_line")

    def __init__(self, line: Line, count: int) -> None:
        self._line = line
        self._count = count

    async def __aenter__(self) -> ModbusLink:
        await self._line._take(self._count)
        return self._line.link

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        line = self._line
        line.transactions += self._count
        line._give(self._count)


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
