"""Running ``edge-agent`` commands as subprocesses, and the CLI tests' site configs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.agent_proc import store_rows
from tests.support.site import simulated_devices, write_site

LINE_WIDTH = 80


def cli(config: Path | None, *args: str, stdin: str | None = None, timeout: float = 60.0,
        ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "edge_agent", *args]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(command, input=stdin if stdin is not None else "", capture_output=True, text=True,
                          timeout=timeout, check=False)


def cli_json(config: Path, *args: str) -> Any:
    result = cli(config, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_plain_failure(result: subprocess.CompletedProcess[str], words: str) -> None:
    """Exit 1, the plain words on stderr, never a traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def assert_fits(text: str, width: int = LINE_WIDTH) -> None:
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} columns: {line!r}"


def meter_device(port: int, poll_interval: float) -> str:
    """The Eastron SDM120 meter, unit 1 of the Modbus TCP server at ``port``."""
    return f"""
[[devices]]
driver = "modbus"
name = "meter"
profile = "eastron_sdm120"
host = "127.0.0.1"
port = {port}
unit = 1
poll_interval = {poll_interval:g}
"""


def modbus_devices(sim_port: int) -> str:
    return meter_device(sim_port, 0.3) + f"""
[[devices]]
driver = "modbus"
name = "cabinet"
profile = "streetlight_cabinet_4c"
host = "127.0.0.1"
port = {sim_port}
unit = 2
poll_interval = 0.3
"""


LAMP_EUI = "24e124468d440001"
LAMP_APP = "0b8a4c1e-2f4d-4b8e-9a51-6c3d2e1f0a97"


def field_devices(meter_port: int) -> str:
    """A Modbus TCP meter at ``meter_port`` (polled every 5 s) and the LoRaWAN streetlight node: a site of field
    devices only, no simulated one."""
    return meter_device(meter_port, 5) + lorawan_device()


def lorawan_device() -> str:
    """A streetlight node heard through ChirpStack's MQTT integration (here: the same real Mosquitto)."""
    return f"""
[[devices]]
driver = "lorawan"
name = "lamp"
dev_eui = "{LAMP_EUI}"
codec = "milesight_ws558"
application_id = "{LAMP_APP}"
uplink_interval = 600
"""


# One lighting group on the cabinet's first circuit, lit at 60 % all day and night.
LIGHTING = """
[lighting]
safe_level = 100

[[lighting.programs]]
name = "all-night"
periods = [{ start = "12:00", end = "11:59", level = 60 }]

[[lighting.calendars]]
name = "village"
rules = [{ program = "all-night" }]

[[lighting.groups]]
name = "centre"
category = "road"
calendar = "village"
members = [{ device = "cabinet", point = "circuit1_level" }]
"""


def site(directory: Path, *, broker_port: int, sim_port: int | None = None, extra: str = "",
         lorawan: bool = False) -> Path:
    devices = simulated_devices(count=1, poll=0.2, points=2)
    if sim_port is not None:
        devices = modbus_devices(sim_port) + "\n" + devices
    if lorawan:
        devices += lorawan_device()
        extra += f"\n[chirpstack]\nport = {broker_port}\n"
    return write_site(directory, broker_port=broker_port, devices=devices, extra=extra)


def count(db: Path, sql: str, params: tuple[object, ...] = ()) -> int:
    """A ``SELECT count(*)`` on the store through a separate read-only connection."""
    value = store_rows(db, sql, params)[0][0]
    assert isinstance(value, int)
    return value
