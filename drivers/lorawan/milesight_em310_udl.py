"""Milesight EM310-UDL ultrasonic distance sensor for bins (fPort 85, Milesight channel/type/value, little-endian).

Channels (Milesight's EM310-UDL README): 01 75 battery % u8; 03 82 distance mm u16; 04 00 position (0 normal,
1 tilt) u8; FF xx device attributes. Downlink FF 03 <u16 seconds> sets the reporting interval.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Downlink,
    EncodeError,
    Reader,
    check_fport,
    fill_percent,
    int_in_range,
)

MODEL = "Milesight EM310-UDL"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {"set_interval": "reporting interval in seconds (60-64800)"}

# Device-attribute channels (FF xx): length of each value, skipped.
_ATTRIBUTE_LENGTHS = {0x01: 1, 0x09: 2, 0x0A: 2, 0x0B: 1, 0x0F: 1, 0x16: 8, 0xFE: 1}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    distance: int | None = None
    tilted = False
    while reader.remaining:
        channel, kind = reader.u8(), reader.u8()
        if (channel, kind) == (0x01, 0x75):
            level = reader.u8()
            out.battery(level)
            out.point("battery", level, "%")
        elif (channel, kind) == (0x03, 0x82):
            distance = reader.u16(little=True)
            out.point("distance", distance, "mm")
        elif (channel, kind) == (0x04, 0x00):
            tilted = reader.u8() == 1
            out.point("position", "tilt" if tilted else "normal")
            out.alarm("tilt", tilted)
        elif channel == 0xFF and kind in _ATTRIBUTE_LENGTHS:
            reader.take(_ATTRIBUTE_LENGTHS[kind])
        else:
            raise DecodeError(f"unknown channel {channel:02x} {kind:02x} at offset {reader.pos - 2}")
    if distance is not None and not tilted:
        fill = fill_percent(distance, options)
        if fill is not None:
            out.point("fill_level", fill, "%")
    return out.build()


def encode(command: str, value: object) -> Downlink:
    if command != "set_interval":
        raise EncodeError(f"unknown command '{command}'")
    seconds = int_in_range(value, 60, 64800, "interval (seconds)")
    return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
