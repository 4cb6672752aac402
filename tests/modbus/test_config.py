from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from edge_agent.config.load import load_config
from edge_agent.errors import ConfigError
from edge_agent.modbus.modbus_service import build_service
from edge_agent.modbus.profile import read_profile
from tests.modbus.helpers import ListSink, context, device, site

SITE = """
gateway_id = "gw-test"
[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603

[[modbus.buses]]
name = "rs485"
port = "/dev/ttyUSB0"
baudrate = 9600
parity = "E"
timeout = 0.6

[[devices]]
driver = "modbus"
name = "cabinet-mairie"
profile = "streetlight_cabinet_4c"
bus = "rs485"
unit = 3
"""


def test_site_with_an_rtu_bus_loads(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE)
    config = load_config(path).config
    assert config.modbus.bus("rs485").timeout == 0.6
    service = build_service(context(config, ListSink()))  # builds without opening the port
    assert service is not None
    assert service.devices_status()[0]["requests_per_poll"] == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('bus = "rs485"', 'bus = "rs485"\nhost = "10.0.0.2"'),
        ('profile = "streetlight_cabinet_4c"', 'profile = "no_such_device"'),
        ("unit = 3", "unit = 300"),
        ("parity = \"E\"", "parity = \"X\""),
    ],
)
def test_bad_modbus_entries_are_reported(tmp_path: Path, change: str, message: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(SITE.replace(change, message))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.problems) == 1, caught.value.problems


def test_unknown_bus_and_duplicate_unit_are_caught_by_config_check() -> None:
    with pytest.raises(ValidationError) as caught:
        site([
            device("a", "eastron_sdm120", bus="nowhere"),
            device("b", "eastron_sdm120", host="10.0.0.9", unit=1),
            device("c", "eastron_sdm120", host="10.0.0.9", unit=1),
        ])
    message = str(caught.value)
    assert "device 'a': bus 'nowhere' is not defined in [[modbus.buses]]" in message
    assert "device 'c': unit 1 on 10.0.0.9:502 is already 'b'" in message


def test_profile_errors_name_the_point(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("""
[device]
manufacturer = "x"
model = "y"
[[points]]
name = "setpoint"
table = "input"
address = 0
writable = true
[[points]]
name = "flag"
table = "coil"
address = 0
type = "f32"
""")
    with pytest.raises(ConfigError) as caught:
        read_profile(path)
    text = "\n".join(caught.value.problems)
    assert "'setpoint': only coil and holding points can be writable" in text
    assert "'flag': type f32 does not fit table coil" in text
