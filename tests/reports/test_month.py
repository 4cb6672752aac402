"""A simulated month of a commune (bench/commune_month.py) gives all three reports and their charts, through the
real command line; the figures hold together (a shared meter's shares add up to the meter, totals to the nights),
and what the month holds (an override, a meter and a counter reset, a lamp failure, the clocks going back,
collections) shows in them."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.commune_month import BINS, COUNTERS, PARKING, VEHICLES, Month, write_month

ARGS = ["--from", "2026-10-01", "--to", "2026-10-31"]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    yield write_month(tmp_path_factory.mktemp("month"))


def report(month: Month, kind: str, *extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "edge_agent", "report", kind, *ARGS, "-c", str(month.site), *extra],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def test_energy_month_and_its_chart(month: Month) -> None:
    chart = month.site.parent / "energy.png"
    data: dict[str, Any] = json.loads(report(month, "energy", "--format", "json", "--chart", str(chart)).stdout)
    groups = {g["group"]: g for g in data["groups"]}
    assert sorted(groups) == ["centre-bourg", "eglise", "grande-rue"]
    for group in groups.values():
        nights = group["nights"]
        assert len(nights) == 31 and all(n["energy_basis"] == "metered" for n in nights)
        assert all(n["hours"]["assumed"] == 0 for n in nights)
        assert group["totals"]["energy_kwh"] == pytest.approx(sum(n["energy_kwh"] for n in nights), abs=0.01)
        assert 0.5 < group["totals"]["saved_share"] < 0.95
        assert group["totals"]["cost_saved_eur"] == pytest.approx(group["totals"]["saved_kwh"] * 0.25, abs=0.05)
    centre = {n["night"]: n for n in groups["centre-bourg"]["nights"]}
    church = {n["night"]: n for n in groups["eglise"]["nights"]}
    assert [len(n["overrides"]) for n in centre.values()].count(1) == 1
    assert centre["2026-10-09"]["overrides"][0]["extra_kwh"] == 2.4  # 100 % for the program's 50 %, 2 h at 2.4 kW
    assert [c["kind"] for c in centre["2026-10-14"]["counter_issues"]] == ["reset"]
    assert [c["kind"] for c in church["2026-10-14"]["counter_issues"]] == ["reset"]
    assert len(centre["2026-10-20"]["lamp_failures"]) == 1
    assert centre["2026-10-24"]["hours"]["dimmed"] == 7.0  # 23:00-05:00 on the 25-hour night
    # The lighting meter is shared by the centre and the church: their shares add up to the whole meter, which
    # counted what the lights used plus its own standby (15 W); it reads once a minute, so each switch may be off
    # by a minute (0.04 kWh at 2.4 kW), and the minute before it was replaced is lost.
    meter = {m["night"]: m["energy_kwh"] for m in data["meters"] if m["device"] == "compteur-eclairage"}
    for night, item in centre.items():
        shared = item["energy_kwh"] + church[night]["energy_kwh"]
        assert shared == pytest.approx(meter[night], abs=0.002), night
        hours = 25 if night == "2026-10-24" else 24
        assert shared == pytest.approx(item["modelled_kwh"] + church[night]["modelled_kwh"] + 0.015 * hours,
                                       abs=0.2), night
    width, height = png_size(chart)
    assert width > 1000 and height > 700 and chart.stat().st_size > 30_000


def test_energy_table_by_month_in_the_communes_language_or_english(month: Month) -> None:
    text = report(month, "energy", "--by", "month").stdout  # the site says no language: French
    assert text.startswith("Éclairage public, Esternay, nuits du 01/10/2026 au 31/10/2026")
    assert "kWh évités" in text and "octobre 2026" in text and "31 nuits" in text and "0,25 €/kWh" in text
    assert "compteur remis à zéro 02:10 (48 506,372 -> 0,000)" in text and "maintien à 100 % 23:00-01:00" in text
    english = report(month, "energy", "--by", "month", "--lang", "en").stdout
    assert english.startswith("Lighting energy, Esternay, nights of 2026-10-01 to 2026-10-31")
    assert "October 2026" in english and "31 nights" in english and "meter reset" in english
    assert "override 100 % 23:00-01:00 by hypervisor" in english


def test_waste_month_and_its_charts(month: Month) -> None:
    png = month.site.parent / "waste.png"
    data: dict[str, Any] = json.loads(report(month, "waste", "--format", "json", "--chart", str(png)).stdout)
    rows = report(month, "waste", "--format", "csv").stdout.splitlines()
    bins = {b["device"]: b for b in data["bins"]}
    assert sorted(bins) == sorted(BINS)
    for item in bins.values():
        assert len(item["collections"]) >= 2 and item["fill_rate_per_day"] > 3
        assert all(c["before"] - c["after"] >= 30 for c in item["collections"])
        assert len(item["series"]) == 744 + 1  # hourly, and the 25-hour day
        assert item["latitude"] is not None
    assert data["collect_on"] == "2026-11-01"
    assert [b["device"] for b in data["to_collect"]] == [b["device"] for b in data["bins"] if b["to_collect"]]
    assert png_size(png)[0] > 1000 and png.stat().st_size > 50_000
    assert rows[0].startswith("bin,latitude,longitude") and len(rows) == 1 + len(BINS)


def test_mobility_month_and_its_chart(month: Month) -> None:
    chart = month.site.parent / "mobility.svg"
    data: dict[str, Any] = json.loads(report(month, "mobility", "--format", "json", "--chart", str(chart)).stdout)
    counters = {c["device"]: c for c in data["counters"]}
    assert sorted(counters) == sorted([*COUNTERS, VEHICLES, *PARKING])
    for name in COUNTERS:
        item = counters[name]
        assert item["peak_hour"]["hour"] == 8  # the simulated profile's morning peak
        assert sum(item["daily"].values()) == item["total"] == sum(f["total"] for f in item["flows"])
        assert len(item["daily"]) == 31
    vehicles = counters[VEHICLES]
    assert [i["kind"] for i in vehicles["flows"][0]["counter_issues"]] == ["reset"]
    assert all(2 < n < 1500 for n in vehicles["daily"].values())  # the reset is not a day of four million
    assert 0.3 < data["parking_occupancy"] < 0.7
    assert all(counters[name]["occupancy"]["known_h"] > 700 for name in PARKING)
    drawing = chart.read_text()
    assert drawing.startswith("<?xml") and "<svg" in drawing
    assert "Comptages, Esternay, du 01/10/2026 au 31/10/2026" in drawing and "pointe 08h" in drawing
    assert "Places de stationnement occupées" in drawing and "passages par heure" in drawing
    csv_rows = report(month, "mobility", "--format", "csv").stdout.splitlines()
    assert csv_rows[0].startswith("counter,what,date,h00") and len(csv_rows) == 1 + 31 * 5
