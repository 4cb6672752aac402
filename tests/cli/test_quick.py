"""The everyday commands run without typer (edge_agent/cli/quick.py): same options, same answers as through typer."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge_agent.cli import quick
from edge_agent.cli.app import app, load_command
from edge_agent.config.store import StoreConfig
from edge_agent.reading import Reading
from edge_agent.store.store import Store
from tests.cli.helpers import field_devices
from tests.support.ports import free_port
from tests.support.site import write_site


def _typer_command(words: tuple[str, ...]) -> Any:
    command = load_command(words[0])
    for word in words[1:]:
        command = command.commands[word]
    return command


@pytest.mark.parametrize("words", list(quick.QUICK), ids=" ".join)
def test_each_quick_command_reads_the_options_its_typer_command_declares(words: tuple[str, ...]) -> None:
    entry = quick.QUICK[words]
    command = _typer_command(words)
    options, flags, arguments = {}, {}, []
    for param in command.params:
        if param.param_type_name == "argument":
            arguments.append(param.name)
            assert param.required, f"{param.name}: quick.py takes every argument as required"
        else:
            spellings = {spelling: param.name for spelling in (*param.opts, *param.secondary_opts)}
            (flags if param.is_flag else options).update(spellings)
    assert dict(entry.options) == options and dict(entry.flags) == flags and entry.arguments == tuple(arguments)
    function = getattr(__import__(f"edge_agent.cli.{entry.module}", fromlist=["_"]), entry.function)
    signature = inspect.signature(function)
    assert list(signature.parameters) == [param.name for param in command.params], "called with the same names"
    for param in command.params:
        if param.param_type_name == "option":  # the plain function's defaults are the typer command's
            assert signature.parameters[param.name].default == param.default, param.name
    for param in command.params:
        if getattr(param, "is_flag", False):
            continue
        if type(param.type).__name__ == "TyperPath":
            assert entry.values.get(param.name) is Path, param.name
            continue
        for text in ("0", "255", "256", "-1", "1.5", "nan", "x", ""):  # the same values taken, the same refused
            assert _converted(entry.values.get(param.name, str), text) == _converted(
                lambda value, p=param: p.type.convert(value, p, None), text), (param.name, text)


def _converted(convert: Any, text: str) -> tuple[bool, str]:
    try:
        return True, repr(convert(text))
    except Exception:  # typer's BadParameter, or the ValueError that sends a line to typer
        return False, ""


def test_only_a_plain_command_line_is_read_without_typer() -> None:
    found = quick.parse(["points", "-c", "/etc/site.toml", "--device=meter", "--json"])
    assert found is not None
    assert found[1] == {"config": Path("/etc/site.toml"), "device": "meter", "as_json": True}
    assert quick.parse(["config", "check", "site.toml"]) == (quick.QUICK[("config", "check")],
                                                             {"path": Path("site.toml")})
    assert quick.parse(["status"]) == (quick.QUICK[("status",)], {})
    found = quick.parse(["decode", "--driver", "dragino_ldds75", "--fport", "2", "--hex", "0d0a", "--d-full=300"])
    assert found is not None
    assert found[1] == {"driver": "dragino_ldds75", "fport": 2, "hex_payload": "0d0a", "d_full": 300.0}
    for typer_reads in (["status", "--help"], ["status", "-h"], ["status", "--bogus"], ["status", "--config"],
                        ["status", "-c/etc/site.toml"], ["status", "--json=yes"], ["status", "extra"],
                        ["status", "--", "x"], ["config", "check"], ["config", "check", "a", "b"],
                        ["config", "show"], ["--debug", "status"], ["sync", "--now"], ["decode", "--fport", "256"],
                        ["decode", "--d-full", "far"], ["decode", "-h"], []):
        assert quick.parse(typer_reads) is None, typer_reads


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stopped agent's site: a meter whose readings are in the store, a LoRaWAN node never heard."""
    directory = tmp_path_factory.mktemp("quick")
    path = write_site(directory, broker_port=free_port(), devices=field_devices(free_port()))
    store = Store.open(StoreConfig(path=directory / "store.db"))
    try:
        store.append([Reading("meter", "voltage", 231.5, 1_700_000_000.0, "V"),
                      Reading("meter", "voltage", 232.5, 1_700_000_010.0, "V"),
                      Reading("meter", "current", 1.25, 1_700_000_010.0, "A")])
    finally:
        store.close()
    return path


def _both_ways(args: list[str]) -> tuple[subprocess.CompletedProcess[str], Any]:
    """The command as a gateway runs it (a process: quick.py, the compiled config) and through typer (in this
    process, where the config is validated by pydantic)."""
    assert quick.parse(args) is not None, "this test is about command lines quick.py reads"
    done = subprocess.run([sys.executable, "-m", "edge_agent", *args], capture_output=True, text=True, timeout=60,
                          check=False)
    return done, CliRunner().invoke(app, args)


@pytest.mark.parametrize("args", [["status", "--json"], ["queue", "--json"], ["devices", "--json"],
                                  ["points", "--json"], ["points", "-d", "meter", "--json"]], ids=" ".join)
def test_the_json_answer_is_the_same_without_typer(site: Path, args: list[str]) -> None:
    done, through_typer = _both_ways([*args, "--config", str(site)])
    assert done.returncode == 0 == through_typer.exit_code, (done.stderr, through_typer.output)
    mine, theirs = json.loads(done.stdout), json.loads(through_typer.stdout)
    if args[0] == "status":
        assert mine.pop("disk")["total_bytes"] == theirs.pop("disk")["total_bytes"]  # free bytes move
        values = {device["name"]: device["values"] for device in mine["devices"]}
        assert values["meter"]["voltage"]["value"] == 232.5 and values["meter"]["current"]["value"] == 1.25
        assert mine["outbox"]["backlog"] == 3
    assert mine == theirs


@pytest.mark.parametrize("command", ["status", "queue", "devices", "points"])
def test_the_text_answer_is_the_same_without_typer(site: Path, command: str) -> None:
    done, through_typer = _both_ways([command, "--config", str(site)])
    assert done.returncode == 0 == through_typer.exit_code, (done.stderr, through_typer.output)
    moving = re.compile(r"\d+(\.\d+)? [KMGT]?B free")  # the disk's free space
    assert moving.sub("", done.stdout) == moving.sub("", through_typer.stdout)
    assert ("readings waiting  3" if command == "queue" else "meter") in done.stdout


def test_config_check_and_its_failures_are_the_same_without_typer(site: Path, tmp_path: Path) -> None:
    done, through_typer = _both_ways(["config", "check", str(site)])
    assert done.returncode == 0 == through_typer.exit_code
    assert done.stdout == through_typer.stdout and ": ok: gateway gw-test (Esternay), 2 devices" in done.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text(site.read_text().replace('gateway_id = "gw-test"', 'gateway_id = 12'))
    done, through_typer = _both_ways(["config", "check", str(broken)])
    assert done.returncode == 1 == through_typer.exit_code
    assert done.stderr == through_typer.stderr and "gateway_id" in done.stderr and "Traceback" not in done.stderr


def test_a_plain_error_is_the_same_without_typer(site: Path) -> None:
    done, through_typer = _both_ways(["points", "--device", "nowhere", "--config", str(site)])
    assert done.returncode == 1 == through_typer.exit_code
    assert done.stderr == through_typer.stderr and done.stderr.startswith("error: ") and "nowhere" in done.stderr


def test_a_command_line_quick_does_not_read_gets_typers_answer(site: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "edge_agent", "status", "--bogus"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "No such option: --bogus" in done.stderr
    done = subprocess.run([sys.executable, "-m", "edge_agent", "status", "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "--config" in done.stdout and "--json" in done.stdout


def test_decode_answers_the_same_without_typer(site: Path) -> None:
    answers = []
    for args in (["decode", "--driver", "dragino_ldds75", "--fport", "2", "--hex", "0d0a07e900000001"],
                 ["decode", "--config", str(site), "--device", "meter", "--fport", "2", "--hex", "00"],
                 ["decode", "--driver", "dragino_ldds75", "--fport", "2", "--hex", "zz"]):
        done, through_typer = _both_ways(args)
        assert (done.returncode, done.stdout, done.stderr) == (
            through_typer.exit_code, through_typer.stdout, through_typer.stderr), args
        answers.append((done.returncode, done.stdout + done.stderr))
    assert answers[0][0] == 0 and '"distance": {\n      "value": 2025' in answers[0][1]
    assert answers[1][0] == 1 and "not a LoRaWAN device" in answers[1][1]
    assert answers[2][0] == 1 and "'zz' is not hex" in answers[2][1]
