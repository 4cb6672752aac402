"""The one module that imports pymodbus (client side): our types in, our types and errors out.

pymodbus fails in several shapes (an exception response returned, ModbusIOException on timeouts,
ConnectionException, OSError from the serial port); ``ModbusLink`` folds them into ``ModbusFailure``
with a ``kind`` the poller counts. The last raw frames of each link are kept for diagnosis.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import serial
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from edge_agent.errors import DeviceError
from edge_agent.modbus.backoff import FailureKind
from edge_agent.modbus.profile import Table

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


class ModbusFailure(DeviceError):
    """A request that got no usable answer. ``kind`` is what the poller counts; ``code`` a Modbus exception."""

    def __init__(self, kind: FailureKind, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.code = code


@dataclass(frozen=True, slots=True)
class SerialParams:
    port: str
    baudrate: int = 9600
    parity: str = "E"
    stopbits: int = 1
    bytesize: int = 8


@dataclass(frozen=True, slots=True)
class Frame:
    """One raw frame as seen on the wire (``sent`` by us or received), with its unit and time."""

    ts: float
    unit: int
    sent: bool
    hex: str


def _check_serial(params: SerialParams) -> None:
    """Open and set up the port once with pyserial alone, closing it whatever happens.

    pymodbus 3.16 reconfigures the port after opening it and leaks the open (and locked) port when that
    second step fails, e.g. a parity a pseudo-terminal or an adapter refuses: check first, cleanly."""
    port = serial.Serial()
    port.port, port.baudrate, port.parity = params.port, params.baudrate, params.parity
    port.stopbits, port.bytesize, port.exclusive = params.stopbits, params.bytesize, True
    try:
        port.open()
        port.timeout = 0
        port.write_timeout = 0
    except Exception as exc:  # SerialException, OSError, termios.error, ValueError
        raise ModbusFailure("connect", f"cannot open {params.port} with {params.baudrate} "
                                       f"{params.parity}{params.stopbits}: {exc}") from exc
    finally:
        port.close()


class ModbusLink:
    """One connection (a TCP socket or a serial port). One request at a time: callers hold the line's lock."""

    def __init__(self, *, host: str | None = None, port: int = 502, serial: SerialParams | None = None,
                 keep_frames: int = 32) -> None:
        if (host is None) == (serial is None):
            raise ValueError("a link needs either a host or serial parameters")
        self.label = f"{host}:{port}" if serial is None else serial.port
        self.frames: deque[Frame] = deque(maxlen=keep_frames)
        self._unit = 0
        self._received = 0
        self._target = (host, port, serial)
        self._client: Any = None  # made on first use: pymodbus' async clients need a running event loop

    def _ensure_client(self) -> Any:
        if self._client is None:
            self._client = self._make_client(*self._target)
        return self._client

    def _make_client(self, host: str | None, port: int, serial: SerialParams | None) -> Any:
        common: dict[str, Any] = {"retries": 0, "reconnect_delay": 0, "timeout": 1.0, "trace_packet": self._trace}
        if serial is not None:
            return AsyncModbusSerialClient(
                serial.port, baudrate=serial.baudrate, parity=serial.parity, stopbits=serial.stopbits,
                bytesize=serial.bytesize, **common,
            )
        assert host is not None
        return AsyncModbusTcpClient(host, port=port, **common)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if data:
            if not sending:
                self._received += len(data)
            self.frames.append(Frame(time.time(), self._unit, sending, data.hex()))
        return data

    def recent_frames(self, unit: int) -> list[Frame]:
        return [frame for frame in self.frames if frame.unit == unit]

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    async def open(self, timeout: float = 3.0) -> None:
        self._ensure_client().ctx.comm_params.timeout_connect = timeout
        if self._target[2] is not None:
            _check_serial(self._target[2])
        try:
            ok = await self._client.connect()
        except Exception as exc:  # pyserial raises OSError, SerialException, termios.error, ValueError
            self.close()
            raise ModbusFailure("connect", f"cannot open {self.label}: {exc}") from exc
        if not ok:
            raise ModbusFailure("connect", f"cannot connect to {self.label}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    async def read(self, unit: int, table: Table, start: int, count: int, timeout: float) -> list[int] | list[bool]:
        """Registers (holding, input) or bits (coil, discrete) of one unit."""
        self._ensure_client()
        method = {
            "coil": self._client.read_coils,
            "discrete": self._client.read_discrete_inputs,
            "holding": self._client.read_holding_registers,
            "input": self._client.read_input_registers,
        }[table]
        response = await self._execute(unit, timeout, method, start, count=count, device_id=unit)
        if table in ("coil", "discrete"):
            return [bool(bit) for bit in response.bits[:count]]
        registers = [int(word) for word in response.registers]
        if len(registers) != count:
            raise ModbusFailure("bad_frame", f"asked {count} registers, got {len(registers)}")
        return registers

    async def write(self, unit: int, table: Table, address: int, values: Sequence[int], timeout: float) -> None:
        """Write one coil (FC5), one register (FC6) or several registers (FC16)."""
        self._ensure_client()
        if table == "coil":
            await self._execute(unit, timeout, self._client.write_coil, address, bool(values[0]), device_id=unit)
        elif table == "holding" and len(values) == 1:
            await self._execute(unit, timeout, self._client.write_register, address, int(values[0]), device_id=unit)
        elif table == "holding":
            await self._execute(unit, timeout, self._client.write_registers, address, list(values), device_id=unit)
        else:
            raise ModbusFailure("exception", f"{table} is read-only", code=1)

    async def _execute(self, unit: int, timeout: float, method: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.connected:
            await self.open(timeout)
        self._unit = unit
        self._received = 0
        self._client.ctx.comm_params.timeout_connect = timeout
        try:
            response = await method(*args, **kwargs)
        except ModbusIOException as exc:
            raise self._silence(unit, timeout) from exc
        except TimeoutError as exc:
            raise self._silence(unit, timeout) from exc
        except ConnectionException as exc:
            raise ModbusFailure("connect", f"{self.label}: connection lost ({exc})") from exc
        except OSError as exc:
            raise ModbusFailure("connect", f"{self.label}: {exc}") from exc
        except ModbusException as exc:
            raise ModbusFailure("bad_frame", f"{self.label}: {exc}") from exc
        if response is None:
            raise self._silence(unit, timeout)
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            name = _EXCEPTION_NAMES.get(code, "unknown exception")
            raise ModbusFailure("exception", f"unit {unit} answered exception {code} ({name})", code=code)
        return response

    def _silence(self, unit: int, timeout: float) -> ModbusFailure:
        if self._received:
            return ModbusFailure("bad_frame", f"unit {unit}: {self._received} bytes but no valid frame (CRC?)")
        return ModbusFailure("timeout", f"unit {unit}: no answer within {timeout:g} s")
