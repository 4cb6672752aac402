"""The radio metadata of a device's last uplinks, packed: what the signal view shows of each, in a few dozen bytes.

Each LoRaWAN device keeps the radio metadata of its last uplinks (``uplinks.RECENT_UPLINKS``) for the signal view:
every gateway's RSSI and SNR, the spreading factor, the bandwidth, the frequency. Kept as parsed (a ``Radio``, its
``Reception`` objects and their numbers) one uplink's took about 450 bytes: 2.2 MB for a commune's 500 nodes once
each has been heard ten times. Packed, the numbers are one bytes object and the gateways a tuple of their ids
(interned by the parser, and the tuple shared with the uplink before when the same gateways heard it): about 180.
"""

from __future__ import annotations

import math
import struct
from typing import Any, NamedTuple

from edge_agent.lorawan.events import Radio

_HEAD = struct.Struct("<dqqqq")  # when (Unix s), fCnt, spreading factor, bandwidth, frequency
_RECEPTION = struct.Struct("<qd")  # one gateway's RSSI and SNR
_ABSENT = -(2**63)  # an integer the uplink did not give
_LOWEST, _HIGHEST = -(2**63) + 1, 2**63 - 1  # the parsers give 32-bit integers: never cut in practice

PackedUplink = tuple[bytes, tuple[str, ...]]  # the numbers, the gateways' ids in the receptions' order


def pack(wall: float, f_cnt: int, radio: Radio, before: PackedUplink | None = None) -> PackedUplink:
    """One uplink's radio metadata as the signal view shows it; ``before``: the device's last packed uplink, whose
    tuple of gateways is taken when the same gateways heard this one."""
    receptions = radio.receptions
    numbers = _HEAD.pack(float(wall), _int(f_cnt), _int(radio.spreading_factor), _int(radio.bandwidth),
                         _int(radio.frequency))
    numbers += b"".join(_RECEPTION.pack(_int(rx.rssi), math.nan if rx.snr is None else float(rx.snr))
                        for rx in receptions)
    gateways = tuple(rx.gateway_id for rx in receptions)
    if before is not None and before[1] == gateways:
        gateways = before[1]
    return numbers, gateways


def unpack(entry: PackedUplink) -> dict[str, Any]:
    """The signal view's entry for one packed uplink (the same as from the ``Radio`` it was packed from)."""
    numbers, gateways = entry
    wall, f_cnt, spreading_factor, bandwidth, frequency = _HEAD.unpack_from(numbers)
    shown = []
    for index, gateway in enumerate(gateways):
        rssi, snr = _RECEPTION.unpack_from(numbers, _HEAD.size + index * _RECEPTION.size)
        shown.append({"gateway": gateway, "rssi": rssi, "snr": None if math.isnan(snr) else snr})
    return {"ts": wall, "f_cnt": f_cnt, "spreading_factor": _given(spreading_factor), "bandwidth": _given(bandwidth),
            "frequency": _given(frequency), "gateways": shown}


class Best(NamedTuple):
    """What ``status`` shows of a device's last uplink: the gateway that heard it best, with its RSSI and SNR, and
    the spreading factor."""

    gateway: str | None = None
    rssi: int | None = None
    snr: float | None = None
    spreading_factor: int | None = None


def best(entry: PackedUplink) -> Best:
    """The best reception of a packed uplink: the first (the parsers sort the receptions by RSSI, strongest
    first, as they pick the best)."""
    numbers, gateways = entry
    spreading_factor = _given(_HEAD.unpack_from(numbers)[2])
    if not gateways:
        return Best(spreading_factor=spreading_factor)
    rssi, snr = _RECEPTION.unpack_from(numbers, _HEAD.size)
    return Best(gateways[0], rssi, None if math.isnan(snr) else snr, spreading_factor)


def _int(value: int | None) -> int:
    return _ABSENT if value is None else min(max(int(value), _LOWEST), _HIGHEST)


def _given(value: int) -> int | None:
    return None if value == _ABSENT else value
