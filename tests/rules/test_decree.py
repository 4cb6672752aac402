"""The 2018 decree's hours in ``config check``: named group, program and hours; road lighting left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge_agent.cli.main import app
from edge_agent.rules.decree import decree_warnings
from tests.rules.support import CUTOFF, DIMMED, ESTERNAY, one_group, site

DATA = Path(__file__).parent / "data"
LATE = {"name": "late", "periods": [{"start": "sunset", "end": "02:00", "level": 100}]}
EARLY = {"name": "early", "periods": [{"start": "sunset", "end": "00:45", "level": 60}]}


def with_hours(lighting: dict[str, Any], **hours: str) -> dict[str, Any]:
    lighting["groups"][0].update(hours)
    return lighting


def test_road_lighting_is_not_covered() -> None:
    assert decree_warnings(site(ESTERNAY, one_group(DIMMED, category="road"))) == []


def test_heritage_lit_past_one_is_named_with_the_hours() -> None:
    [line] = decree_warnings(site(ESTERNAY, one_group(LATE, category="heritage")))
    assert "lighting group 'rue' (heritage): program 'late'" in line
    assert "from 01:00 to 02:00" in line
    assert "heritage lighting off from 01:00 until sunrise" in line


def test_heritage_off_before_one_is_fine() -> None:
    assert decree_warnings(site(ESTERNAY, one_group(EARLY, category="heritage"))) == []


def test_heritage_relit_in_the_morning_is_reported() -> None:
    [line] = decree_warnings(site(ESTERNAY, one_group(CUTOFF, category="heritage")))
    assert "from 05:00" in line


@pytest.mark.parametrize(("category", "hours", "warned"), [
    ("park", {"closes": "20:00"}, True),  # off by 21:00
    ("park", {}, True),  # 01:00 by default, lit until 02:00
    ("shop_window", {"closes": "19:00"}, True),  # 01:00 at the latest
    ("shop_window", {"closes": "01:30"}, False),  # 1 h after a late closing: 02:30
    ("car_park", {"closes": "23:30"}, True),  # 2 h after closing: off by 01:30, lit to 02:00
    ("car_park", {"closes": "00:30"}, False),  # off by 02:30
    ("activity", {"closes": "22:00"}, True),
])
def test_categories(category: str, hours: dict[str, str], warned: bool) -> None:
    lighting = with_hours(one_group(LATE, category=category), **hours)
    lines = decree_warnings(site(ESTERNAY, lighting))
    assert bool(lines) == warned, lines


def test_config_check_prints_the_warning() -> None:
    result = CliRunner().invoke(app, ["config", "check", str(DATA / "esternay.toml")])
    assert result.exit_code == 0
    assert "lighting group 'eglise' (heritage): program 'heritage-fete'" in result.output
    assert "ok: gateway esternay-gw1" in result.output
