"""A lean Modbus TCP client: MBAP framing over an asyncio protocol, for the function codes the agent uses.

Modbus TCP (Modbus Messaging on TCP/IP Implementation Guide V1.0b) puts a 7-byte MBAP header before each PDU:
transaction id, protocol id (0), length (unit id + PDU) and unit id. A response is matched to its request by
transaction id, so an answer arriving after its request timed out is discarded instead of being taken for the
next request's. Several requests may be in flight on one connection (Modbus TCP allows it; a server need not take
them, so the line decides how many: one by default, see ``Line``).

It does what pymodbus's client did for TCP in the polling loop at a fraction of the CPU: one ``write`` and one
future per request (or per batch of requests sent together), one timer per connection for their timeouts
(``_Deadlines``), no transaction manager. Failures are raised as
the ``TcpFailure`` kinds the adapter turns into ``ModbusFailure``; the adapter stays the module the rest of the agent
talks to.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Literal

FailureKindName = Literal["timeout", "connect", "bad_frame", "exception"]

_HEADER = struct.Struct(">HHHB")
_READ = struct.Struct(">BHH")
_MAX_ADU_LENGTH = 254  # the MBAP length field counts the unit id and a PDU of at most 253 bytes
# What one read may fill, after the part of a frame kept from the read before (less than a frame: 260 bytes): several
# pipelined answers (one of 60 registers is 129 bytes); more waits for the next read. 1 KiB a connection: 4 KiB took
# 120 KiB more at a commune's 40 devices.
_BUFFER_SIZE = 1024

Trace = Callable[[int, bool, bytes], None]  # unit, sent, frame


class TcpFailure(Exception):
    """A request without a usable answer; ``kind`` as ``ModbusFailure``'s, ``code`` a Modbus exception code."""

    def __init__(self, kind: FailureKindName, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKindName = kind
        self.code = code


class _Batch:
    """Requests sent together: one future and one timer for all of them; ``answers`` filled as frames come."""

    __slots__ = ("answers", "future", "left")

    def __init__(self, future: asyncio.Future[None], size: int) -> None:
        self.future = future
        self.answers: list[bytes | TcpFailure | None] = [None] * size
        self.left = size

    def answer(self, index: int, result: bytes | TcpFailure) -> None:
        self.answers[index] = result
        self.left -= 1
        if not self.left and not self.future.done():
            self.future.set_result(None)


class _Deadlines:
    """The timeouts of the requests in flight on one connection, with one timer armed at a time instead of one
    per request: it is armed for the earliest deadline, and when it fires it fails what is due and is armed again
    for the next deadline, if any. A poll that answers in time costs a dict entry, not a timer."""

    __slots__ = ("_at", "_timer", "_waiting")

    def __init__(self) -> None:
        self._waiting: dict[asyncio.Future[None], float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._at = 0.0

    def add(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], timeout: float) -> None:
        deadline = loop.time() + timeout
        self._waiting[future] = deadline
        if self._timer is None or deadline < self._at:
            self._arm(loop, deadline)

    def remove(self, future: asyncio.Future[None]) -> None:
        self._waiting.pop(future, None)

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._at = deadline
        self._timer = loop.call_at(deadline, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        due = [future for future, deadline in self._waiting.items() if deadline <= now]
        for future in due:
            del self._waiting[future]
            _expire(future)
        if self._waiting:
            self._arm(loop, min(self._waiting.values()))


class _Protocol(asyncio.BufferedProtocol):
    """Bytes in, complete MBAP frames out to the requests waiting for them (by transaction id); junk counted,
    never fatal.

    The transport reads into this protocol's own buffer (``get_buffer``), not into a new 256 KiB bytes object per
    read as it does for a plain ``asyncio.Protocol``. Those reads, each shrunk to the few bytes of an answer and
    kept in the frames' trace, left holes in the heap too small for the next 256 KiB: it grew for an hour."""

    def __init__(self, trace: Trace) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, tuple[_Batch, int, int]] = {}  # transaction id: (batch, index in it, unit)
        self.received = 0  # bytes since the last request went out on an idle connection, not taken by a request
        self.unit = 0  # of the last request sent: what a frame that answers no request is shown under
        self._view = memoryview(bytearray(_BUFFER_SIZE))  # never resized: the transport reads into it
        self._kept = 0  # bytes at the start of the buffer: the beginning of a frame not yet whole
        self._trace = trace

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        pending, self.pending = self.pending, {}
        reason = str(exc) if exc is not None else "closed by the device"
        for batch, _, _ in pending.values():
            if not batch.future.done():
                batch.future.set_exception(TcpFailure("connect", f"connection lost ({reason})"))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view[self._kept:] if self._kept else self._view

    def buffer_updated(self, nbytes: int) -> None:
        self.received += nbytes
        view, filled, start = self._view, self._kept + nbytes, 0
        while filled - start >= 8:
            tid, protocol, length, unit = _HEADER.unpack_from(view, start)
            if protocol != 0 or not 2 <= length <= _MAX_ADU_LENGTH:
                self._trace(self.unit, False, view[start:filled].tobytes())
                start = filled  # no frame boundary to resync on: drop what came, wait for the next answer
                break
            end = start + 6 + length
            if filled < end:
                break
            frame = view[start:end].tobytes()
            start = end
            waiting = self.pending.pop(tid, None)
            if waiting is None:
                self._trace(self.unit, False, frame)
                continue  # a late answer to a request that timed out: dropped
            batch, index, asked = waiting
            self._trace(asked, False, frame)
            self.received -= len(frame)
            if unit != asked:
                batch.answer(index, TcpFailure("bad_frame", f"answer from unit {unit}, asked unit {asked}"))
            else:
                batch.answer(index, frame[7:])
        self._kept = kept = filled - start
        if kept and start:
            view[:kept] = view[start:filled]  # less than one frame: the buffer always has room for a whole one


class TcpClient:
    """One TCP connection to a Modbus server (a device or a gateway with units behind it).

    ``request`` sends one PDU and waits for its answer; ``request_many`` sends several in one write and waits for
    all of them (several transactions in flight: only for servers that take them, see ``Line.depth``)."""

    def __init__(self, host: str, port: int, *, keep_frames: int = 32) -> None:
        self.host = host
        self.port = port
        self.frames: deque[tuple[float, int, bool, bytes]] = deque(maxlen=keep_frames)
        self._protocol: _Protocol | None = None
        self._tid = 0
        self._deadlines = _Deadlines()

    @property
    def connected(self) -> bool:
        return self._protocol is not None and self._protocol.transport is not None

    @property
    def received(self) -> int:
        """Bytes received since the last request was sent (on an idle connection) that no request took."""
        return self._protocol.received if self._protocol is not None else 0

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered (nor timed out)."""
        return len(self._protocol.pending) if self._protocol is not None else 0

    def _trace(self, unit: int, sent: bool, data: bytes) -> None:
        self.frames.append((time.time(), unit, sent, data))

    async def connect(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self.close()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Protocol(self._trace), self.host, self.port), timeout)
        except TimeoutError as exc:
            raise TcpFailure("connect", f"cannot connect to {self.host}:{self.port} within {timeout:g} s") from exc
        except OSError as exc:
            raise TcpFailure("connect", f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self._protocol = protocol

    def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()

    async def request(self, unit: int, pdu: bytes, timeout: float) -> bytes:
        """Send one PDU to ``unit`` and return the response PDU (function code first). Raises TcpFailure, or
        TimeoutError when no answer came within ``timeout``."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None:
            raise TcpFailure("connect", f"{self.host}:{self.port}: not connected")
        self._tid = tid = (self._tid + 1) & 0xFFFF
        loop = asyncio.get_running_loop()
        batch = _Batch(loop.create_future(), 1)
        if not protocol.pending:
            protocol.received = 0
        protocol.pending[tid] = (batch, 0, unit)
        protocol.unit = unit
        frame = _HEADER.pack(tid, 0, len(pdu) + 1, unit) + pdu
        self.frames.append((time.time(), unit, True, frame))
        protocol.transport.write(frame)
        deadlines = self._deadlines
        deadlines.add(loop, batch.future, timeout)
        try:
            await batch.future
        finally:
            deadlines.remove(batch.future)
            if batch.left:
                protocol.pending.pop(tid, None)
        answer = batch.answers[0]
        if isinstance(answer, TcpFailure):
            raise answer
        assert answer is not None
        return answer

    async def request_many(self, unit: int, pdus: Sequence[bytes], timeout: float) -> list[bytes | TcpFailure]:
        """Send ``pdus`` to ``unit`` in one write, each with its own transaction id, and return their answers in
        order, a TcpFailure in place of each that failed. TimeoutError when none came within ``timeout``; when some
        did, the others are ``timeout`` failures. Raises TcpFailure("connect") when not connected."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None:
            raise TcpFailure("connect", f"{self.host}:{self.port}: not connected")
        loop = asyncio.get_running_loop()
        batch = _Batch(loop.create_future(), len(pdus))
        if not protocol.pending:
            protocol.received = 0
        pending, tid, frames, now = protocol.pending, self._tid, [], time.time()
        for index, pdu in enumerate(pdus):
            tid = (tid + 1) & 0xFFFF
            pending[tid] = (batch, index, unit)
            frame = _HEADER.pack(tid, 0, len(pdu) + 1, unit) + pdu
            self.frames.append((now, unit, True, frame))
            frames.append(frame)
        self._tid = tid
        protocol.unit = unit
        protocol.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
        deadlines = self._deadlines
        deadlines.add(loop, batch.future, timeout)
        try:
            await batch.future
        except TimeoutError:
            if batch.left == len(pdus):
                raise
        except TcpFailure as exc:  # the connection was lost: whatever did not come fails with it
            return [exc if answer is None else answer for answer in batch.answers]
        finally:
            deadlines.remove(batch.future)
            if batch.left:
                for key in [key for key, entry in pending.items() if entry[0] is batch]:
                    del pending[key]
        if not batch.left:
            return batch.answers  # type: ignore[return-value]  # every one answered: no None left
        late = TcpFailure("timeout", f"unit {unit}: no answer within {timeout:g} s")
        return [late if answer is None else answer for answer in batch.answers]

    async def read(self, unit: int, function: int, start: int, count: int, timeout: float) -> bytes:
        """The data bytes of a read (function 1-4), checked against the request; raises TcpFailure."""
        answer = await self.request(unit, _READ.pack(function, start, count), timeout)
        return check_read(answer, function, unit, count)


def read_pdu(function: int, start: int, count: int) -> bytes:
    return _READ.pack(function, start, count)


def check_read(answer: bytes, function: int, unit: int, count: int) -> bytes:
    """The data bytes of a read's answer, checked against the request; raises TcpFailure."""
    check_function(answer, function, unit)
    expected = 2 * count if function in (3, 4) else (count + 7) // 8
    if len(answer) < 2 or answer[1] != expected or len(answer) != 2 + expected:
        raise TcpFailure("bad_frame", f"unit {unit}: asked {count} {'registers' if function in (3, 4) else 'bits'}"
                                      f", got a {len(answer) - 2}-byte answer")
    return answer[2:]


def check_function(answer: bytes, function: int, unit: int) -> None:
    """Raise TcpFailure for a Modbus exception answer or one of another function."""
    if answer and answer[0] == function | 0x80:
        code = answer[1] if len(answer) > 1 else 0
        raise TcpFailure("exception", f"unit {unit} answered exception {code}", code=code)
    if not answer or answer[0] != function:
        got = f"function {answer[0]}" if answer else "an empty answer"
        raise TcpFailure("bad_frame", f"unit {unit}: asked function {function}, got {got}")


def _expire(waiting: asyncio.Future[None]) -> None:
    if not waiting.done():
        waiting.set_exception(TimeoutError())
