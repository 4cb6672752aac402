"""How good a LoRa uplink's signal is, in plain words: good, weak or too weak. Pure: numbers in, verdict out.

The margin is how far the signal is above what the gateway needs at the uplink's spreading factor, in dB:

- above the demodulation floor in SNR: the LoRa demodulator decodes down to an SNR of -7.5 dB at SF7 and 2.5 dB
  lower at each SF up to -20 dB at SF12 (Semtech SX1276/77/78/79 datasheet, table 13 "Range of spreading
  factors"; ChirpStack v4 uses the same table for its ADR, ``get_required_snr_for_sf`` in chirpstack/src/config.rs);
- above the receiver's sensitivity in RSSI: -174 dBm/Hz + 10·log10(bandwidth) + a 6 dB noise figure + that SNR
  floor (Semtech AN1200.22 "LoRa Modulation Basics", section 4), i.e. -124.5 dBm at SF7 and -137 dBm at SF12
  over 125 kHz. When the SNR is high the RSSI shows the distance to the limit better; when it is low (under the
  noise) the SNR does; the smaller of the two margins counts.

The verdict:

- **good**: at least 10 dB of margin, ChirpStack's default ``installation_margin`` (the reserve its ADR keeps for
  fading: rain, foliage, a van parked in front);
- **weak**: between 2.5 and 10 dB: heard today, with less than that reserve;
- **too weak**: under 2.5 dB, less than one spreading-factor step: the next fade loses uplinks. Move the device
  or its antenna (higher, away from metal), or add a gateway.
"""

from __future__ import annotations

import math
from enum import Enum

from edge_agent.frozen import frozen

SNR_FLOOR_DB: dict[int, float] = {6: -5.0, 7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}
THERMAL_NOISE_DBM_HZ = -174.0
NOISE_FIGURE_DB = 6.0
DEFAULT_BANDWIDTH_HZ = 125_000
GOOD_MARGIN_DB = 10.0
WEAK_MARGIN_DB = 2.5


class Level(Enum):
    GOOD = "good"
    WEAK = "weak"
    TOO_WEAK = "too_weak"
    UNKNOWN = "unknown"


@frozen
class Verdict:
    level: Level
    margin_db: float | None = None
    limited_by: str | None = None  # "snr" or "rssi": the smaller margin
    floor_snr_db: float | None = None
    sensitivity_dbm: float | None = None


def sensitivity_dbm(spreading_factor: int, bandwidth_hz: int = DEFAULT_BANDWIDTH_HZ) -> float:
    """The weakest signal a gateway decodes at this spreading factor and bandwidth (KeyError for an unknown SF)."""
    return THERMAL_NOISE_DBM_HZ + 10 * math.log10(bandwidth_hz) + NOISE_FIGURE_DB + SNR_FLOOR_DB[spreading_factor]


def judge(rssi: float | None, snr: float | None, spreading_factor: int | None,
          bandwidth_hz: int | None = None) -> Verdict:
    """The verdict of one reception; UNKNOWN when the SF is unknown or neither RSSI nor SNR was reported."""
    if spreading_factor not in SNR_FLOOR_DB or (rssi is None and snr is None):
        return Verdict(Level.UNKNOWN)
    assert spreading_factor is not None
    floor = SNR_FLOOR_DB[spreading_factor]
    sensitivity = sensitivity_dbm(spreading_factor, bandwidth_hz or DEFAULT_BANDWIDTH_HZ)
    margins = {}
    if snr is not None and math.isfinite(snr):
        margins["snr"] = snr - floor
    if rssi is not None and math.isfinite(rssi):
        margins["rssi"] = rssi - sensitivity
    if not margins:
        return Verdict(Level.UNKNOWN)
    limited_by = min(margins, key=lambda key: margins[key])
    margin = round(margins[limited_by], 1)
    if margin >= GOOD_MARGIN_DB:
        level = Level.GOOD
    elif margin >= WEAK_MARGIN_DB:
        level = Level.WEAK
    else:
        level = Level.TOO_WEAK
    return Verdict(level, margin, limited_by, floor, round(sensitivity, 1))


_RANK = {Level.GOOD: 3, Level.WEAK: 2, Level.TOO_WEAK: 1, Level.UNKNOWN: 0}


def best(verdicts: list[Verdict]) -> Verdict:
    """The device's verdict: that of the gateway hearing it best (one good gateway is enough)."""
    if not verdicts:
        return Verdict(Level.UNKNOWN)
    return max(verdicts, key=lambda v: (_RANK[v.level], v.margin_db if v.margin_db is not None else -math.inf))
