"""``edge-agent modbus scan`` and ``read`` against a pymodbus TCP server running in a thread."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge_agent.cli.main import app
from edge_agent.modbus.simulator import SimUnit, make_units, start_tcp
from tests.support.ports import free_port, wait_port

runner = CliRunner()


@pytest.fixture
def tcp_units() -> Iterator[tuple[int, dict[int, SimUnit]]]:
    """Units 1 (meter), 2 (cabinet), 9 (answers exceptions) on a TCP server in its own thread."""
    port = free_port()
    units = make_units({1: "eastron_sdm120", 2: "streetlight_cabinet_4c", 9: "traffic_counter"})
    units[9].mode = "exception"
    units[9].exception_code = 2
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        server = await start_tcp(units, port)
        await stop.wait()
        await server.shutdown()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    wait_port(port)
    yield port, units
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=5)


def test_scan_finds_the_units_that_answer(tcp_units: tuple[int, dict[int, SimUnit]]) -> None:
    port, _ = tcp_units
    result = runner.invoke(app, ["modbus", "scan", "--host", "127.0.0.1", "--port", str(port), "--units", "1-10",
                                 "--timeout", "0.1", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout[result.stdout.index("["):])
    assert [(h["unit"], h["answer"]) for h in hits] == [(1, "value 0"), (2, "value 100"), (9, "exception 2")]


def test_read_by_address_decodes_the_type(tcp_units: tuple[int, dict[int, SimUnit]]) -> None:
    port, units = tcp_units
    units[1].set("voltage", 229.5)
    result = runner.invoke(app, ["modbus", "read", "--host", "127.0.0.1", "--port", str(port), "--unit", "1",
                                 "--table", "input", "--address", "0", "--type", "f32", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["value"] == 229.5


def test_read_by_config_name(tcp_units: tuple[int, dict[int, SimUnit]], tmp_path: Path) -> None:
    port, units = tcp_units
    units[2].set("mains_voltage", 231.2)
    config = tmp_path / "site.toml"
    config.write_text(f"""
gateway_id = "gw-test"
[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603
[[devices]]
driver = "modbus"
name = "cabinet-1"
profile = "streetlight_cabinet_4c"
host = "127.0.0.1"
port = {port}
unit = 2
""")
    result = runner.invoke(app, ["modbus", "read", "cabinet-1", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "mains_voltage" in result.stdout and "231.2 V" in result.stdout
    assert "circuit1_level               100 %" in result.stdout


def test_read_of_a_silent_unit_fails_plainly(tcp_units: tuple[int, dict[int, SimUnit]]) -> None:
    port, _ = tcp_units
    result = runner.invoke(app, ["modbus", "read", "--host", "127.0.0.1", "--port", str(port), "--unit", "5",
                                 "--timeout", "0.2"])
    assert result.exit_code == 1
    assert "no answer within 0.2 s" in result.output


def test_scan_of_an_rtu_line_with_auto_baud(tmp_path: Path) -> None:
    from edge_agent.modbus.simulator import start_rtu
    from tests.modbus.helpers import socat_pair

    with socat_pair(tmp_path) as (agent_end, device_end):
        units = make_units({2: "eastron_sdm120", 3: "traffic_counter"})
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()

        async def serve() -> None:
            server = await start_rtu(units, device_end, baudrate=9600, parity="N")
            await stop.wait()
            await server.shutdown()

        thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
        thread.start()
        try:
            result = runner.invoke(app, ["modbus", "scan", "--serial", agent_end, "--baud", "auto", "--units", "1-3",
                                         "--table", "input", "--timeout", "0.1", "--json"])
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=5)
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout[result.stdout.index("["):])
    # A pty ignores the baud rate and refuses parity: every 8N1 setting finds units 2 and 3.
    found = {(h["endpoint"].split()[1], h["unit"]) for h in hits}
    assert {("9600", 2), ("9600", 3), ("19200", 2), ("115200", 3)} <= found
    assert {h["unit"] for h in hits} == {2, 3}
    assert "cannot open" in result.stderr
