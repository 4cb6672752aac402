"""A lean Modbus TCP client: MBAP framing over an asyncio protocol, for the function codes the agent uses.

Modbus TCP (Modbus Messaging on TCP/IP Implementation Guide V1.0b) puts a 7-byte MBAP header before each PDU:
transaction id, protocol id (0), length (unit id + PDU) and unit id. A response is matched to its request by
transaction id, so an answer arriving after its request timed out is discarded instead of being taken for the
next request's. One request is in flight at a time (the line's lock sees to it).

It does what pymodbus's client did for TCP in the polling loop at a fraction of the CPU: one ``write`` per request,
one future and one timer, no transaction manager. Failures are raised as the ``TcpFailure`` kinds the adapter
turns into ``ModbusFailure``; the adapter stays the module the rest of the agent talks to.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

FailureKindName = Literal["timeout", "connect", "bad_frame", "exception"]

_HEADER = struct.Struct(">HHHB")
_READ = struct.Struct(">BHH")
_MAX_ADU_LENGTH = 254  # the MBAP length field counts the unit id and a PDU of at most 253 bytes

Trace = Callable[[bool, bytes], None]


class TcpFailure(Exception):
    """A request without a usable answer; ``kind`` as ``ModbusFailure``'s, ``code`` a Modbus exception code."""

    def __init__(self, kind: FailureKindName, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKindName = kind
        self.code = code


class _Protocol(asyncio.Protocol):
    """Bytes in, complete MBAP frames out to the waiting request; junk counted, never fatal."""

    def __init__(self, trace: Trace) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: asyncio.Future[bytes] | None = None
        self.tid = 0
        self.unit = 0
        self.received = 0
        self._buffer = b""
        self._trace = trace

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        waiting, self.waiting = self.waiting, None
        if waiting is not None and not waiting.done():
            reason = str(exc) if exc is not None else "closed by the device"
            waiting.set_exception(TcpFailure("connect", f"connection lost ({reason})"))

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        buffer = self._buffer + data if self._buffer else data
        while len(buffer) >= 8:
            tid, protocol, length, unit = _HEADER.unpack_from(buffer)
            if protocol != 0 or not 2 <= length <= _MAX_ADU_LENGTH:
                self._trace(False, buffer)
                buffer = b""  # no frame boundary to resync on: drop what came, wait for the next answer
                break
            end = 6 + length
            if len(buffer) < end:
                break
            frame, buffer = buffer[:end], buffer[end:]
            self._trace(False, frame)
            waiting = self.waiting
            if waiting is not None and tid == self.tid and not waiting.done():
                if unit != self.unit:
                    waiting.set_exception(TcpFailure("bad_frame", f"answer from unit {unit}, asked unit "
                                                                  f"{self.unit}"))
                else:
                    waiting.set_result(frame[7:])
                self.waiting = None
        self._buffer = buffer


class TcpClient:
    """One TCP connection to a Modbus server (a device or a gateway with units behind it)."""

    def __init__(self, host: str, port: int, *, keep_frames: int = 32) -> None:
        self.host = host
        self.port = port
        self.frames: deque[tuple[float, int, bool, bytes]] = deque(maxlen=keep_frames)
        self._protocol: _Protocol | None = None
        self._tid = 0

    @property
    def connected(self) -> bool:
        return self._protocol is not None and self._protocol.transport is not None

    @property
    def received(self) -> int:
        """Bytes received since the last request was sent."""
        return self._protocol.received if self._protocol is not None else 0

    def _trace(self, sent: bool, data: bytes) -> None:
        unit = self._protocol.unit if self._protocol is not None else 0
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
        """Send one PDU to ``unit`` and return the response PDU (function code first)."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None:
            raise TcpFailure("connect", f"{self.host}:{self.port}: not connected")
        self._tid = tid = (self._tid + 1) & 0xFFFF
        loop = asyncio.get_running_loop()
        waiting: asyncio.Future[bytes] = loop.create_future()
        protocol.waiting, protocol.tid, protocol.unit, protocol.received = waiting, tid, unit, 0
        frame = _HEADER.pack(tid, 0, len(pdu) + 1, unit) + pdu
        self.frames.append((time.time(), unit, True, frame))
        protocol.transport.write(frame)
        timer = loop.call_later(timeout, _expire, waiting)
        try:
            return await waiting
        finally:
            timer.cancel()
            if protocol.waiting is waiting:
                protocol.waiting = None

    async def read(self, unit: int, function: int, start: int, count: int, timeout: float) -> bytes:
        """The data bytes of a read (function 1-4), checked against the request; raises TcpFailure."""
        answer = await self.request(unit, _READ.pack(function, start, count), timeout)
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


def _expire(waiting: asyncio.Future[bytes]) -> None:
    if not waiting.done():
        waiting.set_exception(TimeoutError())
