"""The one module the agent's Modbus client code talks to: our types in, our types and errors out.

Modbus TCP goes through ``tcp.py``, the project's own lean client (MBAP framing on an asyncio protocol); serial
lines (RTU) through ``rtu.py``, its own RTU client (pyserial's port read through the event loop, imported when a
serial link is opened). Both fail as ``TcpFailure`` kinds or TimeoutError; ``ModbusLink`` folds them into
``ModbusFailure`` with a ``kind`` the poller counts. The last raw frames of each link are kept for diagnosis.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Sequence
from typing import Any

from edge_agent.errors import DeviceError
from edge_agent.frozen import frozen
from edge_agent.modbus.backoff import FailureKind
from edge_agent.modbus.profile import Table
from edge_agent.modbus.rtu import RtuClient
from edge_agent.modbus.tcp import TcpClient, TcpFailure, check_function, check_read, read_pdu

_EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
READ_FUNCTION: dict[str, int] = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
_WORDS = [struct.Struct(f">{n}H") for n in range(126)]  # unpackers of 0..125 registers

Values = list[int] | list[bool]
Read = tuple[Table, int, int]  # table, first address, count


class ModbusFailure(DeviceError):
    """A request that got no usable answer. ``kind`` is what the poller counts; ``code`` a Modbus exception."""

    def __init__(self, kind: FailureKind, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.code = code


@frozen(slots=True)
class SerialParams:
    port: str
    baudrate: int = 9600
    parity: str = "E"
    stopbits: int = 1
    bytesize: int = 8


@frozen(slots=True)
class Frame:
    """One raw frame as seen on the wire (``sent`` by us or received), with its unit and time."""

    ts: float
    unit: int
    sent: bool
    hex: str


def _exception_failure(unit: int, code: int) -> ModbusFailure:
    name = _EXCEPTION_NAMES.get(code, "unknown exception")
    return ModbusFailure("exception", f"unit {unit} answered exception {code} ({name})", code=code)


def _values(function: int, count: int, data: bytes) -> Values:
    if function > 2:
        return list(_WORDS[count].unpack(data)) if count < len(_WORDS) else list(struct.unpack(f">{count}H", data))
    return [bool(data[i >> 3] >> (i & 7) & 1) for i in range(count)]


class ModbusLink:
    """One connection (a TCP socket or a serial port). Callers hold the line's lock (or as many of its turns as
    they have requests in flight)."""

    def __init__(self, *, host: str | None = None, port: int = 502, serial: SerialParams | None = None,
                 keep_frames: int = 32) -> None:
        if (host is None) == (serial is None):
            raise ValueError("a link needs either a host or serial parameters")
        self.label = f"{host}:{port}" if serial is None else serial.port
        self._tcp = TcpClient(host, port, keep_frames=keep_frames) if host is not None else None
        self._rtu = (RtuClient(serial.port, baudrate=serial.baudrate, parity=serial.parity, stopbits=serial.stopbits,
                               bytesize=serial.bytesize, keep_frames=keep_frames) if serial is not None else None)
        client = self._tcp or self._rtu
        assert client is not None
        self._frames: deque[tuple[float, int, bool, bytes]] = client.frames

    @property
    def frames(self) -> list[Frame]:
        return [Frame(ts, unit, sent, data.hex()) for ts, unit, sent, data in self._frames]

    def recent_frames(self, unit: int, last: int | None = None) -> list[Frame]:
        """The frames of ``unit`` still kept, oldest first; only the ``last`` few when given."""
        mine = [entry for entry in self._frames if entry[1] == unit]
        if last is not None:
            mine = mine[-last:] if last > 0 else []
        return [Frame(ts, of, sent, data.hex()) for ts, of, sent, data in mine]

    @property
    def connected(self) -> bool:
        if self._tcp is not None:
            return self._tcp.connected
        return self._rtu is not None and self._rtu.connected

    async def open(self, timeout: float = 3.0) -> None:
        if self._tcp is not None:
            try:
                await self._tcp.connect(timeout)
            except TcpFailure as exc:
                raise ModbusFailure("connect", str(exc)) from exc
            return
        assert self._rtu is not None
        try:
            self._rtu.open()
        except TcpFailure as exc:
            raise ModbusFailure("connect", str(exc)) from exc

    def close(self) -> None:
        if self._tcp is not None:
            self._tcp.close()
        elif self._rtu is not None:
            self._rtu.close()

    async def read(self, unit: int, table: Table, start: int, count: int, timeout: float) -> Values:
        """Registers (holding, input) or bits (coil, discrete) of one unit."""
        if self._tcp is None:
            return await self._serial_read(unit, table, start, count, timeout)
        function = READ_FUNCTION[table]
        data = await self._tcp_call(unit, timeout, self._tcp.read(unit, function, start, count, timeout))
        return _values(function, count, data)

    async def read_many(self, unit: int, reads: Sequence[Read], timeout: float) -> list[Values | ModbusFailure]:
        """Several reads of one unit, their answers (or failures) in order. Over TCP they go out together, all in
        flight at once (only for servers that take it: the caller's line says how many); on a serial line one after
        the other, stopping at the first failure that is not a Modbus exception."""
        if self._tcp is None:
            out: list[Values | ModbusFailure] = []
            for table, start, count in reads:
                try:
                    out.append(await self._serial_read(unit, table, start, count, timeout))
                except ModbusFailure as exc:
                    out.append(exc)
                    if exc.kind != "exception":
                        break
            return out
        functions = [READ_FUNCTION[table] for table, _, _ in reads]
        pdus = [read_pdu(function, start, count) for function, (_, start, count) in zip(functions, reads, strict=True)]
        answers = await self._tcp_call(unit, timeout, self._tcp.request_many(unit, pdus, timeout))
        results: list[Values | ModbusFailure] = []
        timed_out = False
        for function, (_, _, count), answer in zip(functions, reads, answers, strict=True):
            try:
                if isinstance(answer, TcpFailure):
                    raise answer
                results.append(_values(function, count, check_read(answer, function, unit, count)))
            except TcpFailure as exc:
                timed_out = timed_out or exc.kind == "timeout"
                results.append(ModbusFailure("timeout", str(exc)) if exc.kind == "timeout" else
                               self._failure(unit, timeout, exc))
        if timed_out and not self._tcp.in_flight:
            self._tcp.close()  # as after any timeout: a late answer must never meet the next request
        return results

    async def write(self, unit: int, table: Table, address: int, values: Sequence[int], timeout: float) -> None:
        """Write one coil (FC5), one register (FC6) or several registers (FC16)."""
        if table == "coil":
            function, pdu = 5, struct.pack(">BHH", 5, address, 0xFF00 if values[0] else 0)
        elif table == "holding" and len(values) == 1:
            function, pdu = 6, struct.pack(">BHH", 6, address, int(values[0]) & 0xFFFF)
        elif table == "holding":
            words = [int(v) & 0xFFFF for v in values]
            function = 16
            pdu = struct.pack(f">BHHB{len(words)}H", 16, address, len(words), 2 * len(words), *words)
        else:
            raise ModbusFailure("exception", f"{table} is read-only", code=1)
        if self._tcp is None:
            await self._serial_request(unit, function, pdu, timeout)
            return
        answer = await self._tcp_call(unit, timeout, self._tcp.request(unit, pdu, timeout))
        try:
            check_function(answer, function, unit)
        except TcpFailure as exc:
            raise self._failure(unit, timeout, exc) from exc

    async def _tcp_call(self, unit: int, timeout: float, request: Any) -> Any:
        assert self._tcp is not None
        if not self._tcp.connected:
            try:
                await self.open(timeout)
            except BaseException:  # a failed or cancelled connect (the service stopping): the request never runs
                request.close()
                raise
        try:
            return await request
        except TcpFailure as exc:
            raise self._failure(unit, timeout, exc) from exc
        except TimeoutError as exc:
            received = self._tcp.received
            # A late answer must never be taken for the next request's (a server may even reuse the new
            # request's transaction id for it): the next request goes out on a fresh connection, unless other
            # requests are in flight on this one (several allowed: the server matches answers by transaction id),
            # in which case the last of them to time out closes it.
            if not self._tcp.in_flight:
                self._tcp.close()
            raise self._silence(unit, timeout, received) from exc
        except OSError as exc:
            raise ModbusFailure("connect", f"{self.label}: {exc}") from exc

    def _failure(self, unit: int, timeout: float, exc: TcpFailure) -> ModbusFailure:
        if exc.kind == "exception" and exc.code is not None:
            return _exception_failure(unit, exc.code)
        assert self._tcp is not None
        if exc.kind == "connect":
            self._tcp.close()  # reconnect on the next request
            return ModbusFailure("connect", f"{self.label}: {exc}")
        if exc.kind == "bad_frame":
            self._tcp.close()  # the stream may be out of step with the requests: start again on a fresh one
        return ModbusFailure(exc.kind, str(exc))

    # -- serial lines (RTU), through rtu.py ---------------------------------------------------------

    async def _serial_request(self, unit: int, function: int, pdu: bytes, timeout: float) -> bytes:
        """The answer's PDU, checked for its function code (an exception answer raised); ModbusFailure."""
        rtu = self._rtu
        assert rtu is not None
        if not rtu.connected:
            await self.open(timeout)
        try:
            answer = await rtu.request(unit, pdu, timeout)
            check_function(answer, function, unit)
        except TimeoutError as exc:
            raise self._silence(unit, timeout, rtu.received) from exc
        except TcpFailure as exc:
            if exc.kind == "exception" and exc.code is not None:
                raise _exception_failure(unit, exc.code) from exc
            raise ModbusFailure(exc.kind, str(exc)) from exc
        except OSError as exc:
            rtu.close()
            raise ModbusFailure("connect", f"{self.label}: {exc}") from exc
        return answer

    async def _serial_read(self, unit: int, table: Table, start: int, count: int,
                           timeout: float) -> list[int] | list[bool]:
        function = READ_FUNCTION[table]
        answer = await self._serial_request(unit, function, read_pdu(function, start, count), timeout)
        try:
            data = check_read(answer, function, unit, count)
        except TcpFailure as exc:
            raise ModbusFailure(exc.kind, str(exc)) from exc
        return _values(function, count, data)

    @staticmethod
    def _silence(unit: int, timeout: float, received: int) -> ModbusFailure:
        if received:
            return ModbusFailure("bad_frame", f"unit {unit}: {received} bytes but no valid frame (CRC?)")
        return ModbusFailure("timeout", f"unit {unit}: no answer within {timeout:g} s")
