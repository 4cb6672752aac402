"""`edge-agent config check`: a valid file passes, every problem is one line naming the file, the key and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge_agent import resources
from edge_agent.config.load import load_config
from edge_agent.errors import ConfigError

VALID = """
gateway_id = "esternay-01"

[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603

[store]
path = "/tmp/x.db"
max_bytes = "200 MB"

[[devices]]
driver = "simulated"
name = "meter-1"
points = [{ name = "voltage", unit = "V" }]
"""


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", "config", "check", str(path)], capture_output=True, text=True, timeout=60
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def test_valid_config_exits_zero(tmp_path: Path) -> None:
    result = check(write(tmp_path, VALID))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout and "esternay-01" in result.stdout


def test_bundled_demo_config_is_valid() -> None:
    result = check(resources.bundled_config("demo"))
    assert result.returncode == 0, result.stderr


def test_misspelled_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("longitude", "longitud"))
    result = check(path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert f"{path}: site.longitud: unknown key; did you mean 'longitude'?" in lines
    assert f"{path}: site.longitude: is missing; this key is required" in lines


def test_wrong_type_names_key_and_expected_type(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("latitude = 48.7328", 'latitude = "north"'))
    result = check(path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}: site.latitude: Input should be a valid number")
    assert "(got 'north')" in result.stderr


def test_every_problem_gets_its_own_line(tmp_path: Path) -> None:
    text = VALID.replace("max_bytes = \"200 MB\"", "max_bytes = \"lots\"\nretention = 3").replace(
        'name = "meter-1"', 'name = "meter-1"\npoll_intervall = 5'
    )
    result = check(write(tmp_path, text))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 3, lines
    assert any("store.max_bytes: 'lots' is not a size" in line for line in lines)
    assert any("store.retention: unknown key; did you mean 'retention_days'?" in line for line in lines)
    assert any("devices.0.poll_intervall: unknown key; did you mean 'poll_interval'?" in line for line in lines)


def test_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("[store]", "[store"))
    result = check(path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}: (toml):")
    assert "line" in result.stderr


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = check(tmp_path / "nope.toml")
    assert result.returncode == 1
    assert "cannot be read" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_driver_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, VALID.replace('driver = "simulated"', 'driver = "bacnet"')))
    assert "devices.0.driver: 'bacnet' is not known; expected one of" in caught.value.problems[0]
    assert "simulated" in caught.value.problems[0] and "modbus" in caught.value.problems[0]


def test_duplicate_device_names_are_refused(tmp_path: Path) -> None:
    device = VALID[VALID.index("[[devices]]"):]
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, VALID + device))
    assert "used twice" in caught.value.problems[0]


def test_sizes_accept_units() -> None:
    from edge_agent.config.base import parse_size

    assert parse_size("200 MB") == 200_000_000
    assert parse_size("1 GiB") == 1024**3
    assert parse_size("512k") == 512_000
    assert parse_size(42) == 42
    with pytest.raises(ValueError):
        parse_size("much")


def test_config_hash_changes_with_content(tmp_path: Path) -> None:
    first = load_config(write(tmp_path, VALID)).sha256
    second = load_config(write(tmp_path, VALID.replace("meter-1", "meter-2"))).sha256
    assert first != second and len(first) == 64


def test_alarm_rule_errors_name_the_key_as_written(tmp_path: Path) -> None:
    text = VALID + """
[[alarms]]
kind = "threshold"
name = "bin-full"
device = "meter-1"
point = "voltage"
raise_above = 80
clear_at = 60
prioritty = "alarm"
"""
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    expected = f"{tmp_path / 'site.toml'}: alarms.0.prioritty: unknown key; did you mean 'priority'?"
    assert caught.value.problems == [expected]


def test_chirpstack_and_upstream_client_ids_must_differ(tmp_path: Path) -> None:
    text = VALID + '\n[chirpstack]\nclient_id = "edge-agent-esternay-01"\n'
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert "chirpstack" in caught.value.problems[0] and "its own value" in caught.value.problems[0]


@pytest.mark.parametrize(("change", "key"), [
    (lambda text: "a = " + "[" * 5000 + "]" * 5000, "(toml)"),
    (lambda text: text.replace('max_bytes = "200 MB"', 'max_bytes = "' + "9" * 400 + ' MB"'), "store.max_bytes"),
    (lambda text: text.replace("longitude = 3.5603", 'longitude = 3.5603\ntimezone = "Europe"'), "site.timezone"),
    (lambda text: text.replace("longitude = 3.5603", f'longitude = 3.5603\ntimezone = "{"x" * 300}"'),
     "site.timezone"),
    (lambda text: text.replace("longitude = 3.5603", 'longitude = 3.5603\ntimezone = """Europe\nParis"""'),
     "site.timezone"),
])
def test_hostile_values_are_each_one_problem_line(tmp_path: Path, change: Any, key: str) -> None:
    """Nesting that exhausts the recursion limit, a size of 400 digits, a time zone that is a folder of zones or
    a name too long for the file system, a value over two lines: each once gave a Python error (or a message split
    over two lines) instead of the promised `PATH: dotted.key: message` line."""
    path = write(tmp_path, change(VALID))
    result = check(path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(f"{path}: ") and ": " in line[len(str(path)) + 2:] for line in lines), lines
    assert any(line.startswith(f"{path}: {key}: ") for line in lines), lines
    assert "error:" not in result.stderr and "Traceback" not in result.stderr


LIGHTING = """
[lighting]
[[lighting.programs]]
name = "night"
periods = [{ start = "sunset", end = "sunrise", level = 100 }]
[[lighting.calendars]]
name = "cal"
rules = [{ program = "night" }]
[[lighting.groups]]
name = "rue"
calendar = "cal"
members = [{ device = "meter-1", point = "voltage" }, { device = "meter1", point = "voltage" }]
meters = [{ device = "cabinet-9", point = "energy" }]
"""


def test_a_name_that_is_not_a_device_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + LIGHTING + """
[[alarms]]
kind = "silent"
name = "quiet"
device = "bin-*"
max_silence_s = 600
[[alarms]]
kind = "threshold"
name = "high"
device = "pump-7"
point = "voltage"
raise_above = 250
clear_at = 240
""")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [  # a glob (bin-*) may match no device yet: not a problem
        f"{path}: lighting.groups.0.members.1.device: 'meter1' is not one of the [[devices]]; did you mean 'meter-1'?",
        f"{path}: lighting.groups.0.meters.0.device: 'cabinet-9' is not one of the [[devices]]; fix the name"
        " (devices: meter-1) or add the device",
        f"{path}: alarms.1.device: 'pump-7' is not one of the [[devices]]; fix the name (devices: meter-1) or add"
        " the device",
    ]
    result = check(path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "lighting.groups.0.members.1.device: 'meter1' is not one of the [[devices]]" in result.stderr + result.stdout


def test_a_group_of_the_sites_devices_loads(tmp_path: Path) -> None:
    text = VALID + LIGHTING.replace('"meter1"', '"meter-1"').replace('"cabinet-9"', '"meter-1"')
    assert load_config(write(tmp_path, text)).config.lighting.groups[0].members[1].device == "meter-1"
