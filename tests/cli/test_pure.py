"""The pure parts: the protocol, the tail fan-out's drop policy, text rendering, doctor's judgements."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge_agent.cli import render
from edge_agent.cli.device_cmd import parse_value
from edge_agent.cli.doctor_checks import judge_bytecode, judge_clock, judge_disk, judge_expiry
from edge_agent.cli.doctor_cmd import lines
from edge_agent.cli.lighting_cmd import parse_span, status_lines
from edge_agent.cli.tail_cmd import line
from edge_agent.control import protocol
from edge_agent.control.tail import TailHub
from edge_agent.reading import Event, Priority, Reading
from tests.cli.helpers import assert_fits

DAY = 86_400.0


def test_requests_must_be_version_1_objects_with_an_op() -> None:
    assert protocol.parse_request(protocol.request("read", device="m")) == ("read", {"device": "m"})
    for bad, words in [(b"[1]", "JSON object"), (b"{", "not a JSON"), (b'{"v":1}', "no 'op'"),
                       (b'{"op":"status"}', "version None")]:
        with pytest.raises(protocol.ProtocolError, match=words):
            protocol.parse_request(bad)


def test_a_slow_tail_client_is_dropped_and_the_others_keep_their_records() -> None:
    async def scenario() -> tuple[int, list[int], bool, list[str]]:
        hub = TailHub(queue_size=3)
        kicked: list[str] = []
        slow = hub.subscribe(None, lambda: kicked.append("slow"))
        fast = hub.subscribe("a", lambda: kicked.append("fast"))
        readings = [Reading(device="a" if i % 2 else "b", point="p", value=i, ts=float(i)) for i in range(6)]
        got: list[int] = []
        for index, reading in enumerate(readings):
            hub.publish([reading], [index + 1])
            while not fast.queue.empty():
                got.append(fast.queue.get_nowait()["seq"])
        return hub.dropped_clients, got, slow.overflowed, kicked

    dropped, got, overflowed, kicked = asyncio.run(scenario())
    assert dropped == 1 and overflowed and kicked == ["slow"]
    assert got == [2, 4, 6], "the filtered client gets only its device, in order, unaffected"


def test_tables_and_tail_lines_fit_80_columns() -> None:
    rows = [["a-very-long-device-name", "modbus", "x" * 200]]
    assert all(len(text) <= 80 for text in render.table(["DEVICE", "TYPE", "VALUES"], rows))
    event = protocol.reply_record_json(Event(kind="device_offline", ts=0.0, priority=Priority.WARNING, device="meter",
                                       message="meter is offline: " + "no answer " * 20))
    assert len(line(event)) <= 80 and "!" in line(event)[:9]
    reading = protocol.reply_record_json(Reading(device="meter", point="voltage", value=231.25, ts=0.0, unit="V"))
    assert line(reading).endswith("voltage          231.25 V")


def test_values_typed_on_the_command_line() -> None:
    assert [parse_value(t) for t in ["on", "OFF", "42", "-1.5", "open"]] == [True, False, 42, -1.5, "open"]


def test_render_ages_and_sizes() -> None:
    assert render.duration(59) == "59s" and render.duration(3 * 3600 + 120) == "3h02m"
    assert render.duration(3 * DAY) == "3d00h"
    assert render.size(2_500_000) == "2.5 MB"


def test_doctor_judgements() -> None:
    now = 1_800_000_000.0
    assert judge_expiry("tls", now + 400 * DAY, now).status == "ok"
    assert judge_expiry("tls", now + 10 * DAY, now).status == "fail"
    assert "expired" in judge_expiry("tls", now - DAY, now).detail
    assert judge_clock(True).status == "ok" and judge_clock(False).status == "fail"
    assert judge_clock(None).status == "warn"
    assert judge_disk(50_000_000, 10**10, 0).status == "fail"
    assert judge_disk(10**9, 10**10, 2 * 10**9).status == "warn"
    assert judge_disk(5 * 10**9, 10**10, 10**9).status == "ok"


def test_doctor_judges_the_daemon_s_bytecode_and_names_the_modules_and_the_fix() -> None:
    prefix, python = Path("/opt/edge-agent/1.4.0/pycache"), Path("/opt/edge-agent/1.4.0/bin/python")
    assert judge_bytecode(prefix, 4821, [], python).status == "ok"
    stale = [Path(f"/usr/lib/python3.11/asyncio/{name}.py") for name in ("base_events", "events", "tasks")]
    check = judge_bytecode(prefix, 4821, stale, python)
    assert check.status == "warn"
    assert check.detail.startswith("3 of 4821 modules")
    assert "asyncio/base_events.py, /usr/lib/python3.11/asyncio/events.py, ...)" in check.detail
    assert "tasks" not in check.detail
    assert check.fix.startswith(f"compile them again: 'sudo {python} -m edge_agent.bytecode {prefix}'")
    assert "'sudo systemctl restart edge-agent'" in check.fix
    assert_fits("\n".join(lines([check])))


@pytest.mark.parametrize("command", ["status", "devices", "points", "tail", "read", "write", "queue", "sync",
                                     "export", "doctor"])
def test_every_command_has_help_and_takes_a_config(command: str) -> None:
    from typer.testing import CliRunner

    from edge_agent.cli.main import app

    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "--config" in result.output
    data_commands = {"status", "devices", "points", "tail", "read", "write", "queue", "sync", "doctor"}
    assert ("--json" in result.output) == (command in data_commands)


def test_lighting_rows_show_times_in_the_site_zone_and_spans_parse_or_fail_plainly() -> None:
    group = {"group": "centre", "category": "road", "level": 15, "source": "override",
             "override": {"level": 15, "source": "technician", "remaining_s": 5400},
             "next_change": {"at": "2026-12-11T04:30:00+00:00", "level": 100}}
    header, row = status_lines([group], "Europe/Paris")
    assert header.split() == ["GROUP", "CATEGORY", "LEVEL", "BY", "OVERRIDE", "NEXT"]
    assert "15 % 1h30m (technician)" in row and "05:30 → 100 %" in row  # 04:30 UTC is 05:30 in Paris in December
    assert parse_span("1h30m") == 5400 and parse_span("2h") == 7200 and parse_span("1d") == 86_400
    for bad in ("", "soon", "30s", "8d"):
        with pytest.raises(SystemExit):
            parse_span(bad)


def test_times_no_calendar_holds_are_shown_not_raised() -> None:
    """Records kept from before times were checked (2**62 s, NaN) must not stop `tail` or `export`."""
    from edge_agent.cli import export_cmd

    assert render.clock(2.0**62).startswith("?") and render.iso(float("nan")) == "?nan"
    assert export_cmd.iso_utc(-1e20) == "-1e+20"
