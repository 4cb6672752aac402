"""An installer's mistakes in a profile file: one line each, naming the file, the point and key, and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.errors import ConfigError
from edge_agent.modbus.profile import read_profile

PROFILE = """
[device]
manufacturer = "Eastron"
modell = "SDM72D-M"

[[points]]
name = "voltage_l1"
table = "input"
address = 0x0000
type = "float32"

[[points]]
name = "total_active_energy"
table = "inputs"
adress = 0x0156
type = "f32"
"""


def test_each_mistake_is_one_line_with_the_point_the_key_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "eastron_sdm72d.toml"
    path.write_text(PROFILE)
    with pytest.raises(ConfigError) as caught:
        read_profile(path)
    assert sorted(caught.value.problems) == sorted([
        f"{path}: device.model: is missing; this key is required (drivers/modbus/README.md, 'The profile file')",
        f"{path}: device.modell: unknown key; did you mean 'model'?",
        f"{path}: points.0 (voltage_l1).type: 'float32' is not allowed; expected 'bool', 'bit', 'u16', 's16', 'u32',"
        " 's32', 'u64', 's64', 'f32', 'f64' or 'string'",
        f"{path}: points.1 (total_active_energy).table: 'inputs' is not allowed; expected 'coil', 'discrete',"
        " 'holding' or 'input'",
        f"{path}: points.1 (total_active_energy).address: is missing; this key is required"
        " (drivers/modbus/README.md, 'The profile file')",
        f"{path}: points.1 (total_active_energy).adress: unknown key; did you mean 'address'?",
    ])


def test_a_misspelt_profile_or_codec_name_gets_the_close_one() -> None:
    from pydantic import ValidationError

    from edge_agent.lorawan.config import LorawanDeviceConfig
    from edge_agent.modbus.config import ModbusDeviceConfig

    with pytest.raises(ValidationError, match="did you mean 'eastron_sdm630'"):
        ModbusDeviceConfig(driver="modbus", name="m", profile="eastron_sdm63", host="127.0.0.1")
    with pytest.raises(ValidationError, match="did you mean 'milesight_em310_udl'"):
        LorawanDeviceConfig(driver="lorawan", name="b", dev_eui="0011223344556677", codec="milesight_em310_ud")
