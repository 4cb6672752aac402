"""Nights worked out by hand give exactly the energy report's figures: a night with a meter replaced in the middle,
a night with an override, and the night the clocks go back (25 hours).

Every figure is computed here from the readings and events written to the store; the only thing taken from
elsewhere is the sun (sunset and sunrise from astral, called directly), which sets the dark hours and the baseline.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from astral import Observer
from astral.sun import sunrise, sunset
from typer.testing import CliRunner

from edge_agent.cli.main import app
from edge_agent.reading import Event, Priority
from edge_agent.reports import energy, period
from edge_agent.reports.energy import EnergyReport, GroupNight
from edge_agent.store.history import HistoryReader
from tests.reports.support import LATITUDE, LONGITUDE, PARIS, at, commit, meter, set_level, write_site

TARIFF = 0.20
CO2 = 0.069
HOUR = 3600.0


def sun(evening: date) -> tuple[float, float]:
    observer = Observer(LATITUDE, LONGITUDE)
    return (sunset(observer, evening, tzinfo=PARIS).timestamp(),
            sunrise(observer, evening + timedelta(days=1), tzinfo=PARIS).timestamp())


def run(folder: Path, evening: date) -> EnergyReport:
    config = write_site(folder)
    nights = [period.night(evening, PARIS)]
    with HistoryReader(config.store.path) as reader:
        inputs = energy.gather(reader, config, nights)
    return energy.report(config, inputs, nights)


def group(report: EnergyReport, name: str) -> GroupNight:
    return next(item for item in report.nights if item.group == name)


# -- a night with the meter replaced ------------------------------------------------------------------------------

RESET = date(2026, 11, 10)  # a Tuesday: program "coupure" (sunset-23:00, 05:00-sunrise)


def reset_night(folder: Path) -> None:
    config = write_site(folder)
    d0, d1 = RESET, RESET + timedelta(days=1)
    commit(config, [
        set_level(at(d0, 11), "rue", "armoire", 0, "program coupure"),
        set_level(at(d0, 17, 30), "rue", "armoire", 100, "program coupure"),
        set_level(at(d0, 23), "rue", "armoire", 0, "program coupure"),
        set_level(at(d1, 5), "rue", "armoire", 100, "program coupure"),
        set_level(at(d1, 7), "rue", "armoire", 0, "program coupure"),
        meter(at(d0, 11), 999.9), meter(at(d0, 12), 1000.0), meter(at(d0, 18), 1000.8), meter(at(d0, 22), 1004.8),
        meter(at(d0, 23, 30), 1005.8),
        meter(at(d1, 2), 0.0),  # the meter was replaced during the night: a new one counting from zero
        meter(at(d1, 6), 1.0), meter(at(d1, 9), 2.8), meter(at(d1, 12), 2.8), meter(at(d1, 13), 2.8),
    ])


def test_a_meter_reset_night_by_hand(tmp_path: Path) -> None:
    reset_night(tmp_path)
    report = run(tmp_path, RESET)
    rue = group(report, "rue")
    dusk, dawn = sun(RESET)
    # Metered: 0.8 + 4.0 + 1.0 before the reset, then the new meter's 0.0 at 02:00, + 1.0 + 1.8 after it.
    assert rue.energy_kwh == pytest.approx(0.8 + 4.0 + 1.0 + 0.0 + 1.0 + 1.8, abs=1e-9)
    assert rue.energy_basis == "metered" and rue.meter_coverage == 1.0 and not rue.shared_meter
    [issue] = rue.counter_issues
    assert (issue.kind, issue.before, issue.after, issue.counted_kwh) == ("reset", 1005.8, 0.0, 0.0)
    assert (issue.since, issue.ts) == (at(RESET, 23, 30), at(RESET + timedelta(days=1), 2))
    # Lit 17:30-23:00 and 05:00-07:00 at 100 %, inside sunset-sunrise: 7.5 h at 1 kW.
    assert rue.full_h == pytest.approx(7.5) and rue.dimmed_h == 0.0
    assert rue.off_h == pytest.approx((dawn - dusk) / HOUR - 7.5)
    assert rue.lit_outside_dark_h == 0.0 and rue.assumed_h == 0.0 and rue.decree_excess_h is None
    assert rue.modelled_kwh == pytest.approx(7.5)
    baseline = 1.0 * (dawn - dusk) / HOUR
    assert rue.baseline_kwh == pytest.approx(baseline) and rue.baseline_basis == "installed power"
    assert rue.saved_kwh == pytest.approx(baseline - 8.6)
    assert rue.saved_share == pytest.approx((baseline - 8.6) / baseline)
    assert rue.cost_saved_eur == pytest.approx((baseline - 8.6) * TARIFF)
    assert rue.co2_avoided_kg == pytest.approx((baseline - 8.6) * CO2)
    assert (rue.switched_on, rue.switched_off) == (at(RESET + timedelta(days=1), 5), at(RESET + timedelta(days=1), 7))


def test_a_group_without_records_is_run_from_its_program_and_said_so(tmp_path: Path) -> None:
    reset_night(tmp_path)
    church = group(run(tmp_path, RESET), "eglise")
    dusk, dawn = sun(RESET)
    lit = (at(RESET + timedelta(days=1), 0, 30) - dusk) / HOUR  # program "eglise": sunset to 00:30 at 100 %
    assert church.assumed_h == pytest.approx(24.0)
    assert church.energy_basis == "modelled" and church.energy_kwh == pytest.approx(0.5 * lit)
    assert church.baseline_kwh == pytest.approx(2.0 * (dawn - dusk) / HOUR)  # the pre-retrofit 2 kW
    assert church.baseline_basis == "power before the retrofit"
    assert church.decree_excess_h == 0.0  # off at 00:30, before the decree's 01:00


def test_the_reset_night_in_json_csv_and_table(tmp_path: Path) -> None:
    reset_night(tmp_path)
    dusk, dawn = sun(RESET)
    runner = CliRunner()
    base = ["report", "energy", "--from", "2026-11-10", "--to", "2026-11-10", "-c", str(tmp_path / "site.toml")]
    shown = runner.invoke(app, [*base, "--format", "json", "--group", "rue"])
    assert shown.exit_code == 0, shown.output
    night = json.loads(shown.stdout)["groups"][0]["nights"][0]
    saved = 1.0 * (dawn - dusk) / HOUR - 8.6
    assert night["energy_kwh"] == 8.6 and night["saved_kwh"] == round(saved, 3)
    assert night["cost_saved_eur"] == round(saved * TARIFF, 2) and night["co2_avoided_kg"] == round(saved * CO2, 2)
    assert night["hours"]["full"] == 7.5
    assert night["counter_issues"] == [{
        "device": "compteur", "point": "import_active_energy", "kind": "reset", "since": "2026-11-10T23:30+01:00",
        "time": "2026-11-11T02:00+01:00", "before": 1005.8, "after": 0.0, "counted_kwh": 0.0}]
    rows = runner.invoke(app, [*base, "--format", "csv"]).stdout.splitlines()
    assert rows[0].startswith("group,night,program,energy_kwh") and rows[1].startswith("rue,2026-11-10,coupure,8.6,")
    table = runner.invoke(app, [*base, "--lang", "en"]).stdout
    assert "meter reset 02:00 (1 005.800 -> 0.000)" in table and "24.0 h of level taken from the program" in table
    table = runner.invoke(app, base).stdout  # the site's language, French by default
    assert "compteur remis à zéro 02:00 (1 005,800 -> 0,000)" in table
    assert "10/11/2026" in table and "24,0 h de niveau pris dans le programme" in table


# -- a night with an override -------------------------------------------------------------------------------------

OVERRIDE = date(2026, 11, 13)  # a Friday: program "abaissement" (100 %, 50 % from 22:00 to 05:00)


def test_an_override_night_by_hand(tmp_path: Path) -> None:
    config = write_site(tmp_path)
    d0, d1 = OVERRIDE, OVERRIDE + timedelta(days=1)
    commit(config, [
        set_level(at(d0, 9), "rue", "armoire", 0, "program coupure"),
        set_level(at(d0, 17, 30), "rue", "armoire", 100, "program abaissement"),
        set_level(at(d0, 22), "rue", "armoire", 50, "program abaissement"),
        _override(at(d0, 23, 15), 100, 5400.0),
        set_level(at(d0, 23, 15), "rue", "armoire", 100, "override"),
        _expired(at(d1, 0, 45)),
        set_level(at(d1, 0, 45), "rue", "armoire", 50, "program abaissement"),
        set_level(at(d1, 3), "rue", "armoire", 0, "program abaissement", ok=False),  # a failed write changes nothing
        set_level(at(d1, 5), "rue", "armoire", 100, "program abaissement"),
        set_level(at(d1, 7), "rue", "armoire", 0, "program abaissement"),
        meter(at(d0, 12), 2000.0), meter(at(d0, 17, 30), 2000.0), meter(at(d0, 22), 2004.5),
        meter(at(d0, 23, 15), 2005.125), meter(at(d1, 0, 45), 2006.625), meter(at(d1, 5), 2008.75),
        meter(at(d1, 7), 2010.75), meter(at(d1, 12), 2010.75),
    ])
    rue = group(run(tmp_path, OVERRIDE), "rue")
    dusk, dawn = sun(OVERRIDE)
    assert rue.program == "abaissement"
    assert rue.energy_kwh == pytest.approx(10.75)
    # Full: 17:30-22:00, the override 23:15-00:45, 05:00-07:00; dimmed: 22:00-23:15 and 00:45-05:00.
    assert rue.full_h == pytest.approx(4.5 + 1.5 + 2.0) and rue.dimmed_h == pytest.approx(1.25 + 4.25)
    assert rue.off_h == pytest.approx((dawn - dusk) / HOUR - 13.5)
    assert rue.modelled_kwh == pytest.approx(4.5 + 0.625 + 1.5 + 2.125 + 2.0)
    [held] = rue.overrides
    assert (held.start, held.end, held.level, held.source) == (at(d0, 23, 15), at(d1, 0, 45), 100, "technician")
    assert held.energy_kwh == pytest.approx(1.5)  # the meter's 2006.625 - 2005.125
    assert held.extra_kwh == pytest.approx(1.0 * 0.5 * 1.5)  # 100 % instead of the program's 50 % for 1.5 h
    assert rue.saved_kwh == pytest.approx((dawn - dusk) / HOUR - 10.75)


def _override(ts: float, level: int, duration: float) -> Event:
    return Event("lighting.override", ts, Priority.INFO, None, "group rue: held",
                 {"group": "rue", "level": level, "duration_s": duration, "source": "technician"})


def _expired(ts: float) -> Event:
    return Event("lighting.override_expired", ts, Priority.INFO, None, "group rue: override expired",
                 {"group": "rue"})


# -- the night the clocks go back ---------------------------------------------------------------------------------

DST = date(2026, 10, 24)  # 25 October 2026, 03:00 CEST becomes 02:00 CET


def test_the_night_the_clocks_go_back_by_hand(tmp_path: Path) -> None:
    config = write_site(tmp_path)
    d0, d1 = DST, DST + timedelta(days=1)
    commit(config, [
        set_level(at(d0, 10), "rue", "armoire", 0, "program coupure"),
        set_level(at(d0, 19), "rue", "armoire", 100, "program coupure"),
        set_level(at(d0, 23), "rue", "armoire", 0, "program coupure"),
        set_level(at(d1, 5), "rue", "armoire", 100, "program coupure"),
        set_level(at(d1, 7), "rue", "armoire", 0, "program coupure"),
        set_level(at(d0, 10), "eglise", "armoire-eglise", 0, "program eglise"),
        set_level(at(d0, 19), "eglise", "armoire-eglise", 100, "program eglise"),
        set_level(at(d1, 2, 30, fold=1), "eglise", "armoire-eglise", 0, "program eglise"),  # 02:30 CET, the 2nd
        meter(at(d0, 12), 500.0), meter(at(d0, 19), 500.0), meter(at(d0, 23), 504.0), meter(at(d1, 5), 504.0),
        meter(at(d1, 7), 506.0), meter(at(d1, 12), 506.0),
    ])
    report = run(tmp_path, DST)
    rue, church = group(report, "rue"), group(report, "eglise")
    dusk, dawn = sun(DST)
    night = period.night(DST, PARIS)
    assert night.end - night.start == 25 * HOUR
    assert rue.energy_kwh == pytest.approx(6.0) and rue.full_h == pytest.approx(6.0)
    # 23:00 CEST to 05:00 CET is 7 hours that night, not 6: all of them off.
    assert rue.off_h == pytest.approx((dawn - dusk) / HOUR - 6.0)
    assert at(d1, 5) - at(d0, 23) == 7 * HOUR
    # The church: lit 19:00 CEST to 02:30 CET = 8.5 h; the decree wants it off from 01:00: 01:00 CEST to
    # 02:30 CET is 2.5 h (the clock shows 1.5).
    assert church.energy_basis == "modelled" and church.energy_kwh == pytest.approx(0.5 * 8.5)
    assert church.decree_excess_h == pytest.approx(2.5)
    assert dusk < at(d0, 19) and church.full_h == pytest.approx(8.5) and church.lit_outside_dark_h == 0.0


def test_a_night_the_meter_was_silent_is_modelled_not_zero(tmp_path: Path) -> None:
    config = write_site(tmp_path)
    far = RESET - timedelta(days=20)
    commit(config, [meter(at(far, 12), 10.0), meter(at(far, 13), 11.0),  # the meter was heard long before only
                    set_level(at(RESET, 12), "rue", "armoire", 0, "program coupure"),
                    set_level(at(RESET, 17, 30), "rue", "armoire", 100, "program coupure"),
                    set_level(at(RESET, 23), "rue", "armoire", 0, "program coupure")])
    rue = group(run(tmp_path, RESET), "rue")
    assert rue.energy_basis == "modelled" and rue.meter_coverage is None
    assert rue.energy_kwh == pytest.approx(5.5)  # 17:30-23:00 at 1 kW
