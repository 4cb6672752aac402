"""IMBUILDINGS LoRaWAN People Counter: infrared beam, counters A and B (big-endian).

Layout (IMBUILDINGS' payload description): fPort 1 starts with a header [0] payload type (2 = people counter),
[1] variant (6), [2..9] device id; fPort 26 is the same body without that header: [0] device status, [1..2]
battery V * 100, [3..4] counter A since the last uplink, [5..6] counter B, [7] sensor status, [8..9] total A,
[10..11] total B, [12] payload counter.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Reader,
    check_fport,
)

MODEL = "IMBUILDINGS People Counter"
UPLINK_FPORTS = frozenset({1, 26})
_PEOPLE_COUNTER, _VARIANT = 2, 6


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    if f_port == 1:
        kind, variant = reader.u8(), reader.u8()
        if (kind, variant) != (_PEOPLE_COUNTER, _VARIANT):
            raise DecodeError(f"payload type {kind} variant {variant} is not a people counter (2, 6)")
        reader.take(8)
    out = DecodedBuilder()
    out.point("device_status", reader.u8())
    out.point("battery_voltage", reader.u16() / 100, "V")
    out.point("count_a", reader.u16())
    out.point("count_b", reader.u16())
    out.point("sensor_status", reader.u8())
    out.point("total_a", reader.u16())
    out.point("total_b", reader.u16())
    out.point("payload_counter", reader.u8())
    return out.build()
