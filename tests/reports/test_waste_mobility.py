"""A day of bins and a day of counters worked out by hand give exactly the reports' figures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from edge_agent.reading import Reading
from edge_agent.reports import mobility, period, waste
from edge_agent.reports.inputs import read
from edge_agent.store.history import HistoryReader
from tests.reports.support import PARIS, at, commit, write_site

DAY = date(2026, 11, 10)
DEVICES = """
[[devices]]
driver = "lorawan"
name = "bac-mairie"
dev_eui = "a840410001810001"
codec = "dragino_ldds75"
uplink_interval = 3600
bin = { d_empty_mm = 1850, d_full_mm = 300 }
position = { latitude = 48.7331, longitude = 3.5612 }

[[devices]]
driver = "lorawan"
name = "bac-gare"
dev_eui = "a840410001810002"
codec = "dragino_ldds75"
uplink_interval = 3600
bin = { d_empty_mm = 1850, d_full_mm = 300 }

[[devices]]
driver = "lorawan"
name = "compteur-place"
dev_eui = "0004a30b00f2c611"
codec = "parametric_pcr2"
uplink_interval = 600

[[devices]]
driver = "simulated"
name = "place-1"
poll_interval = 3600
points = [{ name = "occupied" }]

[[devices]]
driver = "lorawan"
name = "porte-armoire"
dev_eui = "a840410001810009"
codec = "dragino_lds02"
"""


def fill(hh: int, value: float) -> Reading:
    return Reading("bac-mairie", "fill_level", value, at(DAY, hh), "%")


def test_a_day_of_a_bin_by_hand(tmp_path: Path) -> None:
    config = write_site(tmp_path, DEVICES)
    commit(config, [fill(0, 60.0), fill(6, 78.0), fill(7, 82.0), fill(8, 5.0), fill(12, 20.0), fill(18, 40.0),
                    fill(23, 50.0), Reading("bac-mairie", "fill_level", None, at(DAY, 22), "%")])
    day = period.day(DAY, PARIS)
    with HistoryReader(config.store.path) as reader:
        inputs = read(reader, *waste.read_span(day.start, day.end), waste.selection())
    report = waste.report(config, inputs, day.start, day.end)
    by_name = {item.device: item for item in report.bins}
    assert list(by_name) == ["bac-mairie", "bac-gare"]  # the configured bins, with readings or not
    bin_ = by_name["bac-mairie"]
    assert (bin_.readings, bin_.last_fill, bin_.last_ts) == (7, 50.0, at(DAY, 23))
    [emptied] = bin_.collections
    assert (emptied.ts, emptied.before, emptied.after) == (at(DAY, 8), 82.0, 5.0)
    # A level holds until the next reading, 3 uplink intervals (3 h) at most: 82 % from 07:00 to 08:00 only.
    assert bin_.hours_full == 1.0 and bin_.hours_overflowing == 0.0
    assert bin_.hours_unknown == 3 + 1 + 3 + 2  # 03-06, 11-12, 15-18, 21-23
    # Rises between collections: 60 -> 82 in 7 h, 5 -> 50 in 15 h: 67 points in 22 h.
    rate = 67 / 22 * 24
    assert bin_.fill_rate_per_day == pytest.approx(rate)
    assert bin_.predicted_full == pytest.approx(at(DAY, 23) + (80 - 50) / rate * 86_400)
    assert bin_.full_since is None and bin_.to_collect  # full tomorrow morning, before the day is out
    assert report.collect_on == date(2026, 11, 11)
    assert (bin_.latitude, bin_.longitude) == (48.7331, 3.5612)
    assert report.not_good == 1
    gare = by_name["bac-gare"]
    assert (gare.readings, gare.last_fill, gare.to_collect, gare.hours_unknown) == (0, None, False, 24.0)


def test_a_bin_still_full_is_to_collect_since_it_filled(tmp_path: Path) -> None:
    config = write_site(tmp_path, DEVICES)
    commit(config, [fill(0, 70.0), fill(1, 85.0), fill(2, 79.0), fill(3, 86.0), fill(4, 97.0)])
    day = period.day(DAY, PARIS)
    with HistoryReader(config.store.path) as reader:
        inputs = read(reader, *waste.read_span(day.start, day.end), waste.selection())
    bin_ = waste.report(config, inputs, day.start, day.end).bins[0]
    assert bin_.full_since == at(DAY, 3) and bin_.to_collect and bin_.predicted_full is None
    assert bin_.hours_overflowing == 3.0 and bin_.collections == []  # 97 % held 3 h; a 6-point dip is no collection


def test_a_fill_level_outside_0_to_100_is_no_fill_level(tmp_path: Path) -> None:
    config = write_site(tmp_path, DEVICES)
    commit(config, [fill(0, 60.0), fill(6, -1.0), fill(12, 150.0), fill(18, 70.0)])
    day = period.day(DAY, PARIS)
    with HistoryReader(config.store.path) as reader:
        inputs = read(reader, *waste.read_span(day.start, day.end), waste.selection())
    bin_ = waste.report(config, inputs, day.start, day.end).bins[0]
    assert (bin_.readings, bin_.last_fill, bin_.collections) == (2, 70.0, [])


def count(point: str, hh: int, mm: int, value: int, device: str = "compteur-place") -> Reading:
    return Reading(device, point, value, at(DAY, hh, mm))


def test_a_day_of_counters_by_hand(tmp_path: Path) -> None:
    config = write_site(tmp_path, DEVICES)
    commit(config, [
        count("count_left_to_right", 8, 10, 5), count("count_left_to_right", 8, 20, 3),
        count("count_left_to_right", 8, 30, 0), count("count_left_to_right", 17, 50, 7),
        count("count_left_to_right", 18, 0, 4), count("count_right_to_left", 8, 10, 1),
        count("total_left_to_right", 8, 10, 999),  # a running total beside counts of the same flow: not read
        count("vehicles_total", 0, 0, 100, "rd48"), count("vehicles_total", 6, 0, 130, "rd48"),
        count("vehicles_total", 12, 0, 5, "rd48"), count("vehicles_total", 18, 0, 25, "rd48"),
        Reading("rd48", "total_active_energy", 4000.0, at(DAY, 6), "kWh"),  # has a unit: not a count
        *[Reading("place-1", "occupied", value, at(DAY, hh, mm)) for hh, mm, value in (
            (8, 0, True), (9, 30, False), (12, 0, True), (13, 0, True), (14, 0, False))],
    ])
    days = period.days(DAY, DAY, PARIS)
    with HistoryReader(config.store.path) as reader:
        inputs = read(reader, *mobility.read_span(days), mobility.selection())
    report = mobility.report(config, inputs, days)
    by_name = {item.device: item for item in report.counters}
    assert sorted(by_name) == ["compteur-place", "place-1", "rd48"]
    place = by_name["compteur-place"]
    assert [(f.label, f.point, f.total) for f in place.flows] == [
        ("left_to_right", "count_left_to_right", 19), ("right_to_left", "count_right_to_left", 1)]
    assert place.hourly() == {(DAY, 8): 9, (DAY, 17): 7, (DAY, 18): 4}
    assert place.daily() == {DAY: 20}
    assert place.peak_hour(1) == (8, 9.0) and place.busiest() == ((DAY, 8), 9)
    road = by_name["rd48"]
    [flow] = road.flows
    assert flow.label == "vehicles" and flow.hourly == {(DAY, 6): 30, (DAY, 12): 5, (DAY, 18): 20}
    assert [issue.kind for issue in flow.issues] == ["reset"]
    space = by_name["place-1"]
    # Occupied 08:00-09:30 and 12:00-14:00, free 09:30-12:00 and 14:00-17:00 (3 h after the last report).
    assert space.occupancy == pytest.approx(3.5 / 9.0) and space.occupied_known_h == 9.0
    assert space.occupancy_by_hour[8] == 1.0 and space.occupancy_by_hour[9] == 0.5
    assert space.occupancy_by_hour[16] == 0.0 and space.occupancy_by_hour[17] is None
    assert space.occupancy_by_day == {DAY: pytest.approx(3.5 / 9.0)}
    assert report.parking_occupancy == pytest.approx(3.5 / 9.0)


def test_hours_of_the_night_the_clocks_go_back_are_the_clock_hours(tmp_path: Path) -> None:
    config = write_site(tmp_path, DEVICES)
    change = date(2026, 10, 25)
    commit(config, [Reading("compteur-place", "count_left_to_right", 2, at(change, 2, 30)),
                    Reading("compteur-place", "count_left_to_right", 3, at(change, 2, 30, fold=1))])
    days = period.days(change, change, PARIS)
    with HistoryReader(config.store.path) as reader:
        report = mobility.report(config, read(reader, *mobility.read_span(days), mobility.selection()), days)
    assert report.counters[0].hourly() == {(change, 2): 5}  # both 02:xx hours are "02h" on the clock
    assert days[0].end - days[0].start == 25 * 3600


def test_in_and_out_points_are_told_apart_by_their_readings(tmp_path: Path) -> None:
    config = write_site(tmp_path, DEVICES)
    times = [(8, 0), (8, 10), (8, 20), (8, 30), (9, 0), (9, 10)]
    commit(config, [
        # A Milesight VS121: people in since its last report (rises and falls), and its line's running total.
        *[count("people_in", hh, mm, n, "vs121") for (hh, mm), n in zip(times, (3, 5, 2, 0, 4, 1), strict=True)],
        *[count("people_total_in", hh, mm, n, "vs121") for (hh, mm), n in zip(times, (100, 105, 107, 107, 111, 112),
                                                                                strict=True)],
        # A VS133 line: counts of the period and the total since reset; the period counts are read.
        *[count("line_1_period_in", hh, mm, n, "vs133") for (hh, mm), n in zip(times, (1, 1, 2, 0, 0, 3), strict=True)],
        *[count("line_1_total_in", hh, mm, n, "vs133") for (hh, mm), n in zip(times, (9, 10, 12, 12, 12, 15),
                                                                              strict=True)],
        # The Modbus traffic counter's people_in is a running total.
        *[count("people_in", hh, mm, n, "modbus-counter") for (hh, mm), n in zip(times, (5000, 5003, 5003, 5010,
                                                                                        5012, 5020), strict=True)],
        Reading("vs121", "region_1_occupied", True, at(DAY, 8)),  # a region of a camera, not a parking space
        Reading("vs121", "config.fade_in", 3, at(DAY, 8)),  # a setting read back
        Reading("porte-armoire", "count_open", 4, at(DAY, 8)),  # a door sensor's openings (security): no passages
    ])
    days = period.days(DAY, DAY, PARIS)
    with HistoryReader(config.store.path) as reader:
        report = mobility.report(config, read(reader, *mobility.read_span(days), mobility.selection()), days)
    flows = {(c.device, f.label): (f.point, f.hourly) for c in report.counters for f in c.flows}
    assert flows[("vs121", "people_in")] == ("people_in", {(DAY, 8): 10, (DAY, 9): 5})
    assert flows[("vs133", "line_1_in")] == ("line_1_period_in", {(DAY, 8): 4, (DAY, 9): 3})
    assert flows[("modbus-counter", "people_in")] == ("people_in", {(DAY, 8): 10, (DAY, 9): 10})
    assert len(flows) == 3 and all(c.occupancy is None for c in report.counters)


def test_the_days_a_bin_stands_full_are_no_part_of_its_fill_rate(tmp_path: Path) -> None:
    """It rose 20 -> 100 in 40 h, stood full 48 h (the sensor shows no more), was emptied, then rose 10 -> 30 in
    10 h: it fills 100 points in 50 h, 48 a day, not 100 points in 98 h."""
    config = write_site(tmp_path, DEVICES)
    start = at(DAY, 0)
    hours = [(0, 20.0), (20, 60.0), (40, 100.0), (64, 100.0), (88, 100.0), (89, 10.0), (94, 20.0), (99, 30.0)]
    commit(config, [Reading("bac-mairie", "fill_level", value, start + h * 3600.0, "%") for h, value in hours])
    with HistoryReader(config.store.path) as reader:
        inputs = read(reader, *waste.read_span(start, start + 100 * 3600.0), waste.selection())
    bin_ = waste.report(config, inputs, start, start + 100 * 3600.0).bins[0]
    assert [(c.before, c.after) for c in bin_.collections] == [(100.0, 10.0)]
    assert bin_.fill_rate_per_day == pytest.approx(100 / 50 * 24)
    assert bin_.predicted_full == pytest.approx(start + 99 * 3600.0 + (80 - 30) / 48 * 86_400)
