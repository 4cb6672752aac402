"""``edge-agent schedule show``: the night's timeline, readable and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from edge_agent.cli.main import app

CONFIG = str(Path(__file__).parent / "data" / "esternay.toml")


def show(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["schedule", "show", "--config", CONFIG, *args])
    return result.exit_code, result.output


def test_timeline_of_the_march_night() -> None:
    code, out = show("--group", "centre", "--date", "2026-03-28")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("Esternay: group 'centre' (road), night of Sat 2026-03-28 to Sun 2026-03-29")
    assert "program 'dimmed', chosen by weekly rule 1" in out
    assert "sunset 19:10 CET" in out and "sunrise 07:30 CEST" in out
    assert "the clocks go forward this night (CET → CEST)" in out
    assert [line.split()[:4] for line in lines if line.startswith("  ")] == [
        ["Sat", "19:10", "CET", "on"], ["Sat", "22:00", "CET", "dim"],
        ["Sun", "05:00", "CEST", "raise"], ["Sun", "07:30", "CEST", "off"],
    ]
    assert "of which dimmed 6 h 00 min" in out  # 22:00 CET to 05:00 CEST: an hour short


def test_exception_night_names_the_rule() -> None:
    code, out = show("--group", "centre", "--date", "2026-07-14")
    assert code == 0
    assert "program 'all-night', chosen by exception 1 (fête nationale)" in out


def test_json_has_utc_and_local_steps() -> None:
    code, out = show("--group", "centre", "--date", "2026-10-24", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["program"] == "dimmed"
    assert [s["level"] for s in plan["steps"]] == [0, 100, 40, 100, 0]
    assert plan["steps"][2]["utc"].startswith("2026-10-24T20:00:00")  # 22:00 CEST
    assert plan["steps"][3]["utc"].startswith("2026-10-25T04:00:00")  # 05:00 CET


def test_unknown_group_and_bad_date_are_plain_errors() -> None:
    code, out = show("--group", "nope", "--date", "2026-03-28")
    assert code == 1 and "no lighting group 'nope'" in out and "centre, eglise" in out
    code, out = show("--group", "centre", "--date", "28/03/2026")
    assert code == 1 and "'28/03/2026' is not a date" in out
