"""An independent sunrise/sunset reference for the tests: NOAA's solar equations, written here from the
published formulas (Meeus, as used by NOAA's Solar Calculator), sharing no code with astral."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

ZENITH = 90.833  # the sun's centre, with refraction and the sun's radius


def _sun(ts: float) -> tuple[float, float]:
    """Declination (degrees) and equation of time (minutes) at Unix time ``ts``."""
    jc = (ts / 86400.0 + 2440587.5 - 2451545.0) / 36525.0
    mean_long = (280.46646 + jc * (36000.76983 + jc * 0.0003032)) % 360
    anomaly = math.radians(357.52911 + jc * (35999.05029 - 0.0001537 * jc))
    ecc = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    centre = (
        math.sin(anomaly) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + math.sin(2 * anomaly) * (0.019993 - 0.000101 * jc)
        + math.sin(3 * anomaly) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * jc)
    apparent = math.radians(mean_long + centre - 0.00569 - 0.00478 * math.sin(omega))
    seconds = 21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))
    obliquity = math.radians(23 + (26 + seconds / 60) / 60 + 0.00256 * math.cos(omega))
    declination = math.asin(math.sin(obliquity) * math.sin(apparent))
    y = math.tan(obliquity / 2) ** 2
    l0 = math.radians(mean_long)
    eq_time = 4 * math.degrees(
        y * math.sin(2 * l0)
        - 2 * ecc * math.sin(anomaly)
        + 4 * ecc * y * math.sin(anomaly) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * ecc * ecc * math.sin(2 * anomaly)
    )
    return math.degrees(declination), eq_time


def _event(day: date, latitude: float, longitude: float, rising: bool) -> float:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    guess = midnight + 43200.0
    for _ in range(3):
        declination, eq_time = _sun(guess)
        lat, dec = math.radians(latitude), math.radians(declination)
        cos_ha = math.cos(math.radians(ZENITH)) / (math.cos(lat) * math.cos(dec)) - math.tan(lat) * math.tan(dec)
        hour_angle = math.degrees(math.acos(cos_ha))
        noon_min = 720 - 4 * longitude - eq_time
        minutes = noon_min - 4 * hour_angle if rising else noon_min + 4 * hour_angle
        guess = midnight + minutes * 60
    return guess


def sunrise(day: date, latitude: float, longitude: float) -> float:
    """Unix time of sunrise on UTC date ``day`` (fine for Europe, where it falls on the same date)."""
    return _event(day, latitude, longitude, rising=True)


def sunset(day: date, latitude: float, longitude: float) -> float:
    return _event(day, latitude, longitude, rising=False)
