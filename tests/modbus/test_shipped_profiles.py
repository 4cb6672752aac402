"""Every shipped Modbus profile says which domain it serves, and the simulator answers every read of its plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.domains import DOMAINS
from edge_agent.errors import ConfigError
from edge_agent.modbus.plan import build_plan, decode_block
from edge_agent.modbus.profile import available_profiles, load_profile, read_profile
from edge_agent.modbus.simulator import make_units
from edge_agent.reading import Quality


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


@pytest.mark.parametrize("name", available_profiles())
def test_the_simulator_serves_every_read_of_the_plan(name: str) -> None:
    """Registers far up the map (Schneider's start at 2999) are served too, not refused as out of range."""
    unit = make_units({1: name})[1]
    for block in build_plan(load_profile(name)):
        words = unit.get(block.table, block.start, block.count)
        assert isinstance(words, list), f"{block.table} {block.start}+{block.count}: {words}"
        assert all(point.quality is not Quality.BAD for point in decode_block(block, words))
