"""The signal verdict: margins against the demodulation floor (SNR) and the sensitivity (RSSI) of each SF."""

from __future__ import annotations

import pytest

from edge_agent.lorawan.link_margin import Level, Verdict, best, judge, sensitivity_dbm


@pytest.mark.parametrize(("sf", "expected"), [(7, -124.5), (9, -129.5), (10, -132.0), (12, -137.0)])
def test_sensitivity_over_125_khz_follows_the_noise_formula(sf: int, expected: float) -> None:
    assert sensitivity_dbm(sf) == pytest.approx(expected, abs=0.05)


def test_a_wider_channel_needs_a_stronger_signal() -> None:
    assert sensitivity_dbm(7, 250_000) == pytest.approx(sensitivity_dbm(7) + 3.01, abs=0.01)


@pytest.mark.parametrize(("rssi", "snr", "sf", "level", "margin", "by"), [
    (-97, 7.2, 9, Level.GOOD, 19.7, "snr"),          # close and clear
    (-121, -14.0, 10, Level.TOO_WEAK, 1.0, "snr"),   # 1 dB above SF10's -15 dB floor
    (-133, -17.0, 10, Level.TOO_WEAK, -2.0, "snr"),  # under the floor: heard by luck
    (-116, 3.0, 7, Level.WEAK, 8.5, "rssi"),         # clear of noise, yet 8.5 dB from SF7's sensitivity
    (-110, -10.0, 12, Level.GOOD, 10.0, "snr"),      # exactly the 10 dB installation margin
    (-128, -13.0, 12, Level.WEAK, 7.0, "snr"),
    (-120, -5.0, 7, Level.WEAK, 2.5, "snr"),         # one SF step above the floor: still weak, not too weak
    (-120, -5.1, 7, Level.TOO_WEAK, 2.4, "snr"),
])
def test_verdicts(rssi: float, snr: float, sf: int, level: Level, margin: float, by: str) -> None:  # noqa: PLR0917
    verdict = judge(rssi, snr, sf)
    assert (verdict.margin_db, verdict.limited_by) == (pytest.approx(margin), by)
    assert verdict.level is level


def test_one_measure_is_enough_and_nothing_is_unknown() -> None:
    assert (judge(None, -5.0, 9).level, judge(None, -5.0, 9).margin_db) == (Level.WEAK, 7.5)  # over -12.5 dB
    assert judge(-100, None, 9).limited_by == "rssi"
    assert judge(None, None, 9).level is Level.UNKNOWN
    assert judge(-100, 5.0, None).level is Level.UNKNOWN
    assert judge(-100, 5.0, 13).level is Level.UNKNOWN, "no such spreading factor"
    assert judge(float("nan"), float("nan"), 9).level is Level.UNKNOWN


def test_a_device_is_as_good_as_its_best_gateway() -> None:
    far, near = judge(-130, -16.0, 10), judge(-100, 6.0, 10)
    assert best([far, near]) is near
    assert best([]).level is Level.UNKNOWN
    assert best([Verdict(Level.UNKNOWN), far]) is far
