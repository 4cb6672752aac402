"""Simulated Modbus devices: real pymodbus servers serving the shipped profiles with moving values.

Used by the tests, by ``bench/`` and by the demo site. Each simulated unit holds its own register tables
(0-based, as on the wire) filled from its profile; points with a ``sim`` entry move (sine, counter).
A unit can be made ``silent`` (a dead RS-485 device: no answer at all) or answer every request with a
Modbus exception code. The server side of pymodbus is confined here; the agent uses ``adapter.py``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import ModbusIOException, NoSuchIdException
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.transaction import TransactionManager

from edge_agent.modbus.datatypes import encode
from edge_agent.modbus.profile import BIT_TABLES, PointSpec, Profile, Table, load_profile

_FC_TABLE: dict[int, Table] = {1: "coil", 5: "coil", 15: "coil", 2: "discrete",
                               3: "holding", 6: "holding", 16: "holding", 23: "holding", 4: "input"}
_TABLE_SIZE = 1024


@dataclass
class SimUnit:
    """One simulated device: four tables of 1,024 cells (more when its profile reaches further), its profile, and
    how it misbehaves."""

    profile: Profile
    mode: str = "ok"  # "ok", "silent", "exception", or "garbled" (RTU: replies with a bad CRC)
    exception_code: int = 4
    clock: Callable[[], float] = time.monotonic
    tables: dict[Table, list[int]] = field(default_factory=dict)
    requests: int = 0
    _written: set[str] = field(default_factory=set)
    _born: float = 0.0

    def __post_init__(self) -> None:
        for table in ("coil", "discrete", "holding", "input"):
            top = max((spec.address + self.profile.codec(spec).width for spec in self.profile.points
                       if spec.table == table), default=0)
            self.tables.setdefault(table, [0] * max(_TABLE_SIZE, top))
        self._born = self.clock()
        for spec in self.profile.points:
            self._store(spec, _sim_value(spec, 0.0))

    def set(self, name: str, value: float | int | bool | str) -> None:
        """Put ``value`` into the registers of point ``name`` (it stops moving)."""
        spec = self.profile.point(name)
        self._store(spec, value)
        self._written.add(name)

    def set_registers(self, table: Table, address: int, values: list[int]) -> None:
        self.tables[table][address : address + len(values)] = values

    def _store(self, spec: PointSpec, value: float | int | bool | str) -> None:
        codec = self.profile.codec(spec)
        if codec.type == "bit":
            word = self.tables[spec.table][spec.address]
            mask = 1 << codec.bit
            self.tables[spec.table][spec.address] = (word | mask) if value else (word & ~mask)
            return
        words = encode(value, codec)
        self.set_registers(spec.table, spec.address, words)

    def tick(self) -> None:
        """Move every simulated point to its value at the current time."""
        elapsed = self.clock() - self._born
        for spec in self.profile.points:
            if spec.name in self._written or spec.sim.kind == "constant":
                continue
            self._store(spec, _sim_value(spec, elapsed))

    def get(self, table: Table, address: int, count: int) -> list[int] | list[bool] | ExcCodes:
        self.requests += 1
        if self.mode == "exception":
            return ExcCodes(self.exception_code)
        if address + count > len(self.tables[table]):
            return ExcCodes.ILLEGAL_ADDRESS
        self.tick()
        cells = self.tables[table][address : address + count]
        return [bool(cell) for cell in cells] if table in BIT_TABLES else list(cells)

    def put(self, table: Table, address: int, values: list[int] | list[bool]) -> ExcCodes | None:
        self.requests += 1
        if self.mode == "exception":
            return ExcCodes(self.exception_code)
        if table not in ("coil", "holding") or address + len(values) > len(self.tables[table]):
            return ExcCodes.ILLEGAL_ADDRESS
        self.tables[table][address : address + len(values)] = [int(v) for v in values]
        for spec in self.profile.points:
            if spec.table == table and address <= spec.address < address + len(values):
                self._written.add(spec.name)
        return None


def _sim_value(spec: PointSpec, elapsed: float) -> float | int | bool | str:
    codec_type = spec.type or ("bool" if spec.table in BIT_TABLES else "u16")
    sim = spec.sim
    if sim.kind == "sine":
        value: float = sim.base + sim.amplitude * math.sin(2 * math.pi * elapsed / sim.period)
    elif sim.kind == "counter":
        value = sim.base + sim.rate * elapsed
    else:
        value = sim.base
    if codec_type in {"bool", "bit"}:
        return bool(value)
    if codec_type == "string":
        return ""
    if codec_type in {"f32", "f64"}:
        return value
    low = spec.valid_min if spec.valid_min is not None else -math.inf
    high = spec.valid_max if spec.valid_max is not None else math.inf
    return min(max(value, low), high)


class SimContext(ModbusServerContext):
    """A pymodbus server context over our SimUnits; unknown and silent units get no answer at all."""

    def __init__(self, units: dict[int, SimUnit]) -> None:  # no super(): we replace its storage
        self.units = units
        self.old_simulator = True
        self.simdevices = []

    def _unit(self, device_id: int) -> SimUnit:
        unit = self.units.get(device_id)
        if unit is None or unit.mode == "silent":
            raise NoSuchIdException(f"unit {device_id} is silent")
        return unit

    async def async_getValues(  # noqa: N802 (pymodbus' name)
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        return self._unit(device_id).get(_FC_TABLE[func_code], address, count)

    async def async_setValues(  # noqa: N802 (pymodbus' name)
        self, device_id: int, func_code: int, address: int, values: Any
    ) -> ExcCodes | None:
        return self._unit(device_id).put(_FC_TABLE[func_code], address, list(values))

    def device_ids(self) -> list[int]:
        return list(self.units)


def make_units(spec: dict[int, str], **kwargs: Any) -> dict[int, SimUnit]:
    """``{unit id: profile name}`` to simulated units."""
    return {unit: SimUnit(load_profile(name), **kwargs) for unit, name in spec.items()}


class _PipelinedHandler(ServerRequestHandler):
    """pymodbus's connection handler, taking several requests at once (Modbus TCP allows it).

    pymodbus's own reads one frame per arrival of bytes (the next waits for the next bytes) and answers from the last
    request parsed, so two requests arriving together get a wrong or no answer. This one parses every frame that
    came and answers each with its own transaction id, in order."""

    def callback_data(self, data: bytes, addr: tuple[str, int] | None = None) -> int:
        used = 0
        while used < len(data):
            try:
                taken = TransactionManager.callback_data(self, data[used:], addr)
            except ModbusIOException:  # a bad function code: pymodbus's handler answers it
                return used + int(super().callback_data(data[used:], addr))
            if not taken:
                break
            used += taken
            pdu, self.last_pdu = self.last_pdu, None
            if pdu is not None:
                self.loop.create_task(self._answer(pdu, self.last_addr))
        return used

    async def _answer(self, pdu: ModbusPDU, addr: tuple[str, int] | None) -> None:
        try:
            response = await pdu.datastore_update(self.server.context, pdu.dev_id)
        except NoSuchIdException:
            return  # a silent unit: no answer at all
        response.transaction_id = pdu.transaction_id
        response.dev_id = pdu.dev_id
        self.server_send(response, addr)  # type: ignore[no-untyped-call]


class _PipelinedTcpServer(ModbusTcpServer):
    def callback_new_connection(self) -> _PipelinedHandler:
        return _PipelinedHandler(self, self.trace_packet, self.trace_pdu,  # type: ignore[no-untyped-call]
                                 self.trace_connect)


async def start_tcp(units: dict[int, SimUnit], port: int, host: str = "127.0.0.1", *,
                    pipelining: bool = False) -> ModbusTcpServer:
    """A Modbus TCP server on ``host:port`` serving ``units``; stop it with ``await server.shutdown()``.

    ``pipelining``: it takes several requests at once on a connection, answering each (pymodbus's own server answers
    one at a time: requests sent together get wrong or no answers)."""
    kind = _PipelinedTcpServer if pipelining else ModbusTcpServer
    server = kind(SimContext(units), address=(host, port), ignore_missing_devices=True)
    await server.serve_forever(background=True)
    return server


async def start_rtu(units: dict[int, SimUnit], port: str, baudrate: int = 9600,
                    parity: str = "E") -> ModbusSerialServer:
    """A Modbus RTU server on serial ``port`` (a pty of a socat pair in tests) serving ``units``."""
    def garble(sending: bool, data: bytes) -> bytes:
        unit = units.get(data[0]) if sending and data else None
        if unit is not None and unit.mode == "garbled":
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    server = ModbusSerialServer(SimContext(units), port=port, baudrate=baudrate, parity=parity,
                                ignore_missing_devices=True, trace_packet=garble)
    await server.serve_forever(background=True)
    return server


async def serve_tcp_fleet(base_port: int, profiles: list[str], host: str = "127.0.0.1", *,
                          pipelining: bool = False) -> list[ModbusTcpServer]:
    """One TCP server (unit 1) per profile entry, on consecutive ports from ``base_port``."""
    servers = []
    for index, name in enumerate(profiles):
        servers.append(await start_tcp(make_units({1: name}), base_port + index, host, pipelining=pipelining))
    return servers


def main(argv: list[str] | None = None) -> None:
    """``python -m edge_agent.modbus.simulator --base-port 15020 --count 200``: a fleet of TCP devices."""
    import argparse
    import asyncio
    import itertools

    from edge_agent.modbus.profile import available_profiles

    parser = argparse.ArgumentParser(description="Serve simulated Modbus TCP devices (one per port, unit 1).")
    parser.add_argument("--base-port", type=int, default=15020)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--profiles", default=",".join(available_profiles()), help="comma-separated, cycled")
    args = parser.parse_args(argv)
    names = list(itertools.islice(itertools.cycle(args.profiles.split(",")), args.count))

    async def run() -> None:
        await serve_tcp_fleet(args.base_port, names, args.host)
        print(f"serving {args.count} devices on {args.host}:{args.base_port}-{args.base_port + args.count - 1}",
              flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
