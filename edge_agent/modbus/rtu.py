"""A lean Modbus RTU client: one serial port read through the event loop, one request at a time.

Modbus over Serial Line (V1.02) frames a PDU as unit id + PDU + CRC-16 (polynomial 0xA001 reflected, initial
0xFFFF, sent low byte first). A frame carries no length: the answer's is known from the function asked (a read's
byte count, 8 bytes for the writes, 5 for an exception, whose function is the asked one | 0x80). Frames are told
apart by silence: 3.5 character times (1.75 ms above 19,200 baud) of quiet line before each request; whatever came
in before the request (a late answer, line noise) is dropped then.

The framing is pure functions (``crc16``, ``adu``, ``find_answer``); ``RtuClient`` does the I/O with pyserial's
port, non-blocking, its descriptor watched by ``loop.add_reader``. Failures are ``TcpFailure`` kinds (the adapter
folds them into ``ModbusFailure``): no answer within the timeout raises TimeoutError (the adapter tells silence
from bytes without a valid frame by ``received``), the port gone ``connect``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from typing import Any

from edge_agent.modbus.tcp import TcpFailure

_CHARACTER_BITS = 11  # start + 8 data + parity (or second stop) + stop
_WRITES = frozenset((5, 6, 15, 16))  # their answers echo address and value or quantity: 8 bytes


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes | memoryview) -> int:
    """CRC-16/MODBUS of ``data`` (sent low byte first)."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def adu(unit: int, pdu: bytes) -> bytes:
    """The RTU frame of ``pdu`` for ``unit``: unit id, PDU, CRC low byte first."""
    body = bytes((unit,)) + pdu
    return body + crc16(body).to_bytes(2, "little")


def frame_silence(baudrate: int) -> float:
    """3.5 character times, fixed at 1.75 ms above 19,200 baud (Modbus over serial line, 2.5.1.1)."""
    if baudrate > 19_200:
        return 0.00175
    return 3.5 * _CHARACTER_BITS / baudrate


def answer_length(frame: bytes | memoryview, function: int) -> int | None:
    """The length of the answer to ``function`` that ``frame`` starts (unit id first): None while too few bytes have
    come to tell, 0 if its function code is neither ``function`` nor its exception."""
    if len(frame) < 2:
        return None
    got = frame[1]
    if got == function | 0x80:
        return 5
    if got != function:
        return 0
    if function in _WRITES:
        return 8
    if function <= 4:
        return 5 + frame[2] if len(frame) >= 3 else None
    return 0


def find_answer(buffer: bytes, unit: int, function: int) -> tuple[bytes, int] | None:
    """The PDU of the first whole frame in ``buffer`` that answers ``function`` from ``unit`` with a good CRC (noise
    or an echo before it skipped) and where that frame ends in ``buffer``; None while there is none (yet)."""
    view = memoryview(buffer)
    for start in range(len(buffer) - 4):
        if buffer[start] != unit:
            continue
        length = answer_length(view[start:], function)
        if not length or start + length > len(buffer):
            continue
        end = start + length
        if crc16(view[start:end - 2]) == int.from_bytes(view[end - 2:end], "little"):
            return buffer[start + 1:end - 2], end
    return None


class RtuClient:
    """One serial line. ``request`` sends a PDU to a unit and returns its answer's PDU (function code first)."""

    def __init__(self, port: str, *, baudrate: int = 9600, parity: str = "E", stopbits: int = 1, bytesize: int = 8,
                 keep_frames: int = 32) -> None:
        self.port = port
        self.baudrate, self.parity, self.stopbits, self.bytesize = baudrate, parity, stopbits, bytesize
        self.silence = frame_silence(baudrate)
        self.frames: deque[tuple[float, int, bool, bytes]] = deque(maxlen=keep_frames)
        self.received = 0  # bytes received since the last request went out
        self._serial: Any = None
        self._fd = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer = b""
        self._quiet_at = 0.0  # loop time the line was last busy (a byte sent or received)
        self._waiting: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()
        self._unit = 0

    @property
    def connected(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        """Open the port with the line's settings (exclusively); raises TcpFailure("connect")."""
        import serial

        self.close()
        port = serial.Serial()
        port.port, port.baudrate, port.parity = self.port, self.baudrate, self.parity
        port.stopbits, port.bytesize, port.exclusive = self.stopbits, self.bytesize, True
        port.timeout = 0
        port.write_timeout = 0
        try:
            port.open()
            fd = port.fileno()
            os.set_blocking(fd, False)
            loop = asyncio.get_running_loop()
            loop.add_reader(fd, self._readable)
        except Exception as exc:  # SerialException, OSError, termios.error, ValueError
            port.close()
            raise TcpFailure("connect", f"cannot open {self.port} with {self.baudrate} "
                                        f"{self.parity}{self.stopbits}: {exc}") from exc
        self._serial, self._fd, self._loop = port, fd, loop
        self._buffer = b""
        self._quiet_at = loop.time()

    def close(self) -> None:
        port, self._serial = self._serial, None
        if port is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
        self._fd = -1
        port.close()
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_exception(TcpFailure("connect", f"{self.port}: closed"))

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 512)
        except BlockingIOError:
            return
        except OSError as exc:
            self._gone(str(exc))
            return
        if not data:  # readable without data: the adapter is unplugged
            self._gone("the port returned no data (disconnected?)")
            return
        assert self._loop is not None
        self._quiet_at = self._loop.time()
        self._buffer += data
        self.received += len(data)  # reset as each request goes out
        waiting = self._waiting
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def _gone(self, reason: str) -> None:
        waiting = self._waiting
        if waiting is not None and not waiting.done():
            waiting.set_exception(TcpFailure("connect", f"{self.port}: {reason}"))
        self.close()

    async def request(self, unit: int, pdu: bytes, timeout: float) -> bytes:
        """Send ``pdu`` to ``unit`` and return the answer's PDU (an exception answer included). TimeoutError when no
        valid answer came within ``timeout`` (``received`` says whether bytes came); TcpFailure("connect")."""
        async with self._lock:
            if self._serial is None or self._loop is None:
                raise TcpFailure("connect", f"{self.port}: not open")
            loop = self._loop
            await self._quiet(loop, timeout)
            if self._buffer:  # stale input: a late answer or noise, never taken for this request's
                self.frames.append((time.time(), self._unit, False, self._buffer))
                self._buffer = b""
            self._unit = unit
            self.received = 0
            frame = adu(unit, pdu)
            self.frames.append((time.time(), unit, True, frame))
            try:
                await self._write(loop, frame)
            except OSError as exc:
                self._gone(str(exc))
                raise TcpFailure("connect", f"{self.port}: {exc}") from exc
            sent_for = len(frame) * _CHARACTER_BITS / self.baudrate
            self._quiet_at = loop.time() + sent_for
            deadline = loop.time() + sent_for + timeout
            function = pdu[0]
            try:
                while True:
                    found = find_answer(self._buffer, unit, function)
                    if found is not None:
                        answer, end = found
                        self.frames.append((time.time(), unit, False, self._buffer[:end]))
                        self._buffer = self._buffer[end:]  # anything after it is stale: dropped before the next send
                        return answer
                    left = deadline - loop.time()
                    if left <= 0:
                        raise TimeoutError
                    self._waiting = waiting = loop.create_future()
                    timer = loop.call_later(left, _expire, waiting)
                    try:
                        await waiting
                    finally:
                        timer.cancel()
                        self._waiting = None
            except TimeoutError:
                if self._buffer:
                    self.frames.append((time.time(), unit, False, self._buffer))
                    self._buffer = b""
                raise

    async def _quiet(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        """Wait until the line has been silent for the inter-frame time (at most ``timeout`` on a chattering line)."""
        give_up = loop.time() + timeout
        while True:
            wait = self._quiet_at + self.silence - loop.time()
            if wait <= 0 or loop.time() >= give_up:
                return
            await asyncio.sleep(wait)

    async def _write(self, loop: asyncio.AbstractEventLoop, frame: bytes) -> None:
        view = memoryview(frame)
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                written = 0
            view = view[written:]
            if view:  # the driver's buffer is full: wait until it takes more
                ready: asyncio.Future[None] = loop.create_future()
                loop.add_writer(self._fd, _expire_ok, ready)
                try:
                    await ready
                finally:
                    loop.remove_writer(self._fd)


def _expire(waiting: asyncio.Future[None]) -> None:
    if not waiting.done():
        waiting.set_exception(TimeoutError())


def _expire_ok(waiting: asyncio.Future[None]) -> None:
    if not waiting.done():
        waiting.set_result(None)
