"""Technician tools: find what answers on a line, read a device once. Plain async functions, so the CLI
and (later) the control-socket handler of the running agent call the same code."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from edge_agent.clock import SystemClock
from edge_agent.config.site import SiteConfig
from edge_agent.frozen import frozen
from edge_agent.modbus.adapter import ModbusFailure, ModbusLink, SerialParams
from edge_agent.modbus.config import ModbusDeviceConfig
from edge_agent.modbus.datatypes import RegisterCodec
from edge_agent.modbus.plan import DecodedPoint, decode_point
from edge_agent.modbus.profile import BIT_TABLES, PointSpec, Table
from edge_agent.reading import Reading
from edge_agent.services import ServiceContext

USUAL_BAUDS = (9600, 19200, 38400, 115200, 4800, 2400)
USUAL_PARITIES = ("N", "E", "O")
_NO_TARGET = {10, 11}  # gateway path unavailable / target failed to respond: nobody at that unit


@frozen(slots=True)
class Endpoint:
    """Where to talk: a TCP host, or a serial port with its settings."""

    host: str | None = None
    port: int = 502
    serial: str | None = None
    baudrate: int = 9600
    parity: str = "E"
    stopbits: int = 1

    def link(self) -> ModbusLink:
        if self.serial is not None:
            return ModbusLink(serial=SerialParams(self.serial, self.baudrate, self.parity, self.stopbits))
        return ModbusLink(host=self.host, port=self.port)

    def describe(self) -> str:
        if self.serial is not None:
            return f"{self.serial} {self.baudrate} {self.parity}{self.stopbits}"
        return f"{self.host}:{self.port}"


@frozen(slots=True)
class ScanHit:
    endpoint: str
    unit: int
    answer: str


async def scan(endpoint: Endpoint, units: Sequence[int], *, table: Table = "holding", address: int = 0,
               timeout: float = 0.2, progress: Callable[[int], None] | None = None) -> list[ScanHit]:
    """Units that answer one read of ``table[address]`` (data or a Modbus exception both count)."""
    link = endpoint.link()
    hits = []
    try:
        await link.open(timeout=max(timeout, 1.0))
        for unit in units:
            answer = await _probe(link, unit, table, address, timeout)
            if answer is not None:
                hits.append(ScanHit(endpoint.describe(), unit, answer))
            if progress is not None:
                progress(1)
    finally:
        link.close()
    return hits


async def _probe(link: ModbusLink, unit: int, table: Table, address: int, timeout: float) -> str | None:
    try:
        values = await link.read(unit, table, address, 1, timeout)
    except ModbusFailure as exc:
        if exc.kind == "exception" and exc.code not in _NO_TARGET:
            return f"exception {exc.code}"
        if exc.kind == "connect":
            raise
        return None
    return f"value {values[0]!r}"


def serial_settings(endpoint: Endpoint, auto: bool) -> list[Endpoint]:
    """The endpoint as given, or one per usual baud rate and parity for ``--baud auto``."""
    if not auto or endpoint.serial is None:
        return [endpoint]
    return [Endpoint(serial=endpoint.serial, baudrate=baud, parity=parity, stopbits=endpoint.stopbits)
            for baud in USUAL_BAUDS for parity in USUAL_PARITIES]


async def read_raw(endpoint: Endpoint, unit: int, table: Table, address: int, codec: RegisterCodec, *,
                   timeout: float = 1.0, count: int = 1) -> list[DecodedPoint]:
    """``count`` consecutive values of one type from ``address`` on, decoded."""
    link = endpoint.link()
    width = codec.width
    try:
        raw = await link.read(unit, table, address, width * count, timeout)
    finally:
        link.close()
    out = []
    for index in range(count):
        spec = PointSpec(name=f"{table}_{address + index * width}", table=table,
                         address=address + index * width, type=codec.type if table not in BIT_TABLES else None)
        out.append(decode_point(spec, codec, raw[index * width : (index + 1) * width]))
    return out


async def read_configured(config: SiteConfig, name: str) -> list[Reading]:
    """Read a device of the site config once, with its profile and the site's bus settings."""
    from edge_agent.modbus.modbus_service import build_pollers

    try:
        device = config.device(name)
    except KeyError:
        raise KeyError(f"no device named '{name}' in the site config") from None
    if not isinstance(device, ModbusDeviceConfig):
        raise KeyError(f"device '{name}' is not a Modbus device")
    context = ServiceContext(config=config, sink=_NoSink(), clock=SystemClock())
    lines, pollers = build_pollers(context, config.modbus, [device])
    try:
        readings, failure = await pollers[0].read()
    finally:
        for line in lines.values():
            line.close()
    if failure is not None:
        raise failure
    return readings


class _NoSink:
    async def submit(self, records: Sequence[object]) -> list[int]:
        return []
