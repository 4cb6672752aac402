"""``edge-agent modbus``: scan a line for devices, read a device's values."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from edge_agent.cli.output import fail, print_json
from edge_agent.config.load import load_config
from edge_agent.control.client import modbus_read_via_agent, running_agent
from edge_agent.control.protocol import RequestFailed
from edge_agent.errors import ConfigError, DeviceError
from edge_agent.modbus.datatypes import RegisterCodec
from edge_agent.modbus.tools import Endpoint, ScanHit, read_configured, read_raw, scan, serial_settings

app = typer.Typer(help="Modbus field tools: scan a line, read a device.", no_args_is_help=True)

_TABLES = ("coil", "discrete", "holding", "input")
_TYPES = ("u16", "s16", "u32", "s32", "u64", "s64", "f32", "f64")


def _endpoint(serial: str | None, host: str | None, port: int, baud: str, parity: str) -> tuple[Endpoint, bool]:
    if (serial is None) == (host is None):
        fail("give either --serial PORT or --host HOST")
    auto = baud == "auto"
    if not auto and not baud.isdigit():
        fail(f"--baud takes a number or 'auto', not '{baud}'")
    rate = 9600 if auto else int(baud)
    return Endpoint(host=host, port=port, serial=serial, baudrate=rate, parity=parity.upper()), auto


def _refuse_a_line_the_agent_holds(config: Path, serial: str) -> None:
    """Two masters on one RS-485 line garble each other's frames: never scan the running agent's own bus."""
    if not config.exists():
        return
    try:
        site = load_config(config).config
    except ConfigError:
        return
    ours = {Path(bus.port).resolve() for bus in site.modbus.buses}
    if Path(serial).resolve() in ours and running_agent(site.control.socket) is not None:
        fail(f"the running agent polls {serial}: a scan now would garble its traffic. Read its devices with"
             " 'edge-agent read DEVICE', or stop the agent first (sudo systemctl stop edge-agent)")


def _units(spec: str) -> list[int]:
    try:
        first, _, last = spec.partition("-")
        units = list(range(int(first), int(last or first) + 1))
    except ValueError:
        fail(f"--units takes 'N' or 'FIRST-LAST', not '{spec}'")
    if not units or units[0] < 0 or units[-1] > 247:
        fail("unit ids go from 0 to 247")
    return units


@app.command("scan")
def scan_cmd(  # noqa: PLR0917 (typer options)
    serial: str | None = typer.Option(None, "--serial", help="serial port, e.g. /dev/ttyUSB0"),
    host: str | None = typer.Option(None, "--host", help="Modbus TCP host or gateway"),
    port: int = typer.Option(502, "--port", help="TCP port"),
    baud: str = typer.Option("9600", "--baud", help="baud rate, or 'auto' to try the usual rates and parities"),
    parity: str = typer.Option("E", "--parity", help="N, E or O"),
    units: str = typer.Option("1-247", "--units", help="unit ids to try: N or FIRST-LAST"),
    table: str = typer.Option("holding", "--table", help="what to read: " + ", ".join(_TABLES)),
    address: int = typer.Option(0, "--address", help="0-based address to read"),
    timeout: float = typer.Option(0.2, "--timeout", help="seconds to wait for each unit"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    config: Path = typer.Option(Path("/etc/edge-agent/site.toml"), "--config",
                                help="site config: a line its running agent holds is not scanned"),
) -> None:
    """Walk unit ids (and, with --baud auto, serial settings) and print what answered."""
    endpoint, auto = _endpoint(serial, host, port, baud, parity)
    if serial is not None:
        _refuse_a_line_the_agent_holds(config, serial)
    if table not in _TABLES:
        fail(f"--table takes one of {', '.join(_TABLES)}")
    unit_ids = _units(units)
    settings = serial_settings(endpoint, auto)
    hits: list[ScanHit] = []
    with typer.progressbar(length=len(settings) * len(unit_ids), label="scanning", file=None) as bar:
        for setting in settings:
            try:
                hits += asyncio.run(scan(setting, unit_ids, table=table, address=address,  # type: ignore[arg-type]
                                         timeout=timeout, progress=bar.update))
            except DeviceError as exc:
                if not auto:
                    fail(str(exc))
                typer.echo(f"\n{setting.describe()}: {exc}", err=True)  # e.g. a parity the adapter refuses
    if as_json:
        print_json([asdict(hit) for hit in hits])
        return
    if not hits:
        typer.echo("no unit answered")
    for hit in hits:
        typer.echo(f"{hit.endpoint}  unit {hit.unit:3d}  {hit.answer}")


@app.command("read")
def read_cmd(  # noqa: PLR0917 (typer options)
    name: str | None = typer.Argument(None, help="device name in the site config (with --config)"),
    config: Path | None = typer.Option(None, "--config", help="site config (TOML)"),
    serial: str | None = typer.Option(None, "--serial", help="serial port"),
    host: str | None = typer.Option(None, "--host", help="Modbus TCP host"),
    port: int = typer.Option(502, "--port"),
    baud: str = typer.Option("9600", "--baud"),
    parity: str = typer.Option("E", "--parity"),
    unit: int = typer.Option(1, "--unit"),
    table: str = typer.Option("holding", "--table"),
    address: int = typer.Option(0, "--address"),
    count: int = typer.Option(1, "--count", help="how many values of --type"),
    type_: str = typer.Option("u16", "--type", help="u16 s16 u32 s32 u64 s64 f32 f64"),
    word_order: str = typer.Option("big", "--word-order", help="big: most significant register first"),
    timeout: float = typer.Option(1.0, "--timeout"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Read one device: by name from a site config, or by port/host, unit and address."""
    try:
        rows = asyncio.run(_read(name, config, serial=serial, host=host, port=port, baud=baud, parity=parity, unit=unit,
                                 table=table, address=address, count=count, type_=type_,
                                 word_order=word_order, timeout=timeout))
    except (DeviceError, ConfigError) as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else "unknown device")
    if as_json:
        print_json(rows)
        return
    for row in rows:
        unit_text = f" {row['unit']}" if row["unit"] else ""
        flag = "" if row["quality"] == "good" else f"  ({row['quality']})"
        typer.echo(f"{row['point']:<28} {row['value']}{unit_text}{flag}")


def _read_through_agent(socket: Path, name: str) -> list[dict[str, Any]] | None:
    """When the agent runs, it owns the device's line: ask it, so a serial port is never opened twice."""
    try:
        answer = modbus_read_via_agent(socket, name)
    except RequestFailed as exc:
        fail(str(exc))
    if answer is None:
        return None
    return [{"point": r["point"], "value": r.get("value"), "unit": r.get("unit"), "quality": r.get("quality", "good")}
            for r in answer.get("readings", [])]


async def _read(name: str | None, config: Path | None, *, serial: str | None, host: str | None, port: int,
                baud: str, parity: str, unit: int, table: str, address: int, count: int, type_: str,
                word_order: str, timeout: float) -> list[dict[str, Any]]:
    if name is not None:
        if config is None:
            fail("reading a device by name needs --config")
        site = load_config(config).config
        through_agent = _read_through_agent(site.control.socket, name)
        if through_agent is not None:
            return through_agent
        readings = await read_configured(site, name)
        return [{"point": r.point, "value": r.value, "unit": r.unit, "quality": r.quality.label} for r in readings]
    endpoint, _ = _endpoint(serial, host, port, baud, parity)
    if table not in _TABLES:
        fail(f"--table takes one of {', '.join(_TABLES)}")
    if type_ not in _TYPES:
        fail(f"--type takes one of {', '.join(_TYPES)}")
    if word_order not in ("big", "little"):
        fail("--word-order takes big or little")
    kind = "bool" if table in ("coil", "discrete") else type_
    codec = RegisterCodec(kind, word_order=word_order)  # type: ignore[arg-type]
    decoded = await read_raw(endpoint, unit, table, address, codec, timeout=timeout, count=count)  # type: ignore[arg-type]
    return [{"point": d.point.name, "value": d.value, "unit": None, "quality": d.quality.label} for d in decoded]
