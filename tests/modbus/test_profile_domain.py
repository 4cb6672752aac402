"""Every shipped Modbus profile says which domain it serves, in the vocabulary the LoRaWAN codecs use."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.domains import DOMAINS
from edge_agent.errors import ConfigError
from edge_agent.modbus.profile import available_profiles, load_profile, read_profile


@pytest.mark.parametrize("name", available_profiles())
def test_profile_names_its_domain(name: str) -> None:
    assert load_profile(name).device.domain in DOMAINS


def test_an_unknown_domain_is_refused_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "meter.toml"
    path.write_text('[device]\nmanufacturer = "x"\nmodel = "y"\ndomain = "heating"\n\n'
                    '[[points]]\nname = "v"\ntable = "input"\naddress = 0\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        read_profile(path)
    assert "device.domain" in str(error.value)
