"""The calendar picks the night's program: exceptions by date before weekly rules; config mistakes are named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from edge_agent.config.load import load_config, parse_config
from edge_agent.errors import ConfigError
from edge_agent.rules.config import Calendar
from edge_agent.rules.programs import choose_program

DATA = Path(__file__).parent / "data"

CAL = Calendar.model_validate({
    "name": "village",
    "rules": [{"weekdays": ["fri", "sat"], "program": "weekend"}, {"program": "week"}],
    "exceptions": [
        {"dates": ["07-14"], "program": "fete", "note": "fête nationale"},
        {"dates": ["12-20/01-02"], "program": "christmas"},
        {"dates": ["2026-09-05"], "program": "brocante"},
    ],
})


@pytest.mark.parametrize(("evening", "program"), [
    (date(2026, 7, 13), "week"),  # a Monday
    (date(2026, 7, 17), "weekend"),  # a Friday
    (date(2026, 7, 14), "fete"),  # a Tuesday: the exception wins
    (date(2027, 7, 14), "fete"),  # every year
    (date(2026, 12, 19), "weekend"),  # the day before the season
    (date(2026, 12, 20), "christmas"),  # a Sunday: the season wins
    (date(2027, 1, 1), "christmas"),  # across new year
    (date(2027, 1, 3), "week"),
    (date(2026, 9, 5), "brocante"),  # a Saturday, once
    (date(2027, 9, 4), "weekend"),  # not the next year
])
def test_program_of_the_night(evening: date, program: str) -> None:
    assert choose_program(CAL, evening)[0] == program


def test_the_sample_site_config_loads() -> None:
    config = load_config(DATA / "esternay.toml").config
    assert [g.name for g in config.lighting.groups] == ["centre", "eglise"]
    assert len(config.alarms) == 4


@pytest.mark.parametrize(("snippet", "message"), [
    ('[[lighting.programs]]\nname = "p"\nperiods = [{start = "sunsett", end = "23:00"}]\n', "'sunsett' is not"),
    ('[[lighting.programs]]\nname = "p"\nperiods = [{start = "25:00", end = "23:00"}]\n', "not a time of day"),
    ('[[lighting.programs]]\nname = "p"\nperiods = [{start = "sunset", end = "sunrise", level = 140}]\n',
     "less than or equal to 100"),
    ('[[lighting.programs]]\nname = "p"\nperiods = [{start = "05:00", end = "23:00"}]\n',
     "period 05:00-23:00 is empty"),
    ('[[lighting.calendars]]\nname = "c"\nrules = [{program = "ghost"}]\n', "program 'ghost'"),
    ('[[lighting.calendars]]\nname = "c"\nrules = [{program = "x"}]\nexceptions = [{dates = ["13-45"], '
     'program = "x"}]\n', "'13-45' is not a date"),
    ('[[alarms]]\nkind = "threshold"\nname = "a"\npoint = "fill"\nraise_above = 80\nclear_at = 90\n',
     "hysteresis"),
])
def test_config_mistakes_are_reported(snippet: str, message: str) -> None:
    text = 'gateway_id = "gw"\n[site]\ncommune = "Esternay"\nlatitude = 48.7\nlongitude = 3.5\n' + snippet
    with pytest.raises(ConfigError) as caught:
        parse_config(text.encode(), Path("site.toml"))
    assert message in "\n".join(caught.value.problems)
