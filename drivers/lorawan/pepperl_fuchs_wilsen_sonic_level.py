"""Pepperl+Fuchs WILSEN.sonic.level ultrasonic fill-level sensor for containers (fPort 1, records, big-endian).

From Pepperl+Fuchs' WILSEN codec in the TTN device repository (vendor/pepperl-fuchs/wilsen.js and
wilsen-sonic-level-codec.yaml; facts only, no code copied). A payload is a sequence of records
[length][type][subtype][value], the length counting type, subtype and value. Records: 02 01 temperature float32
degC; 0b 01 distance u16 cm; 0b 02 distance u16 mm; 0b 06 fill level u8 %; 0b 07 echo amplitude u8; 0c 03 sensor
details u16; 0c 04 sensor status u8; 2a 25 serial number (ASCII, NUL-padded); 31 01 LoRa transmissions u16;
31 02 GPS acquisitions u16; 31 03 ultrasonic measurements u32; 50 01 / 50 02 latitude / longitude int32 / 1e6;
51 01 battery u8 / 10 V. Replies to configuration downlinks come back as f1..f5 records: the transmission interval
(f3 05, u32 s) is decoded; the others are skipped by name. A record of any other type is skipped whole, since its
length says where the next one starts.

The device computes the fill level from its own empty/full settings; when it does not send one and the site
config gives the bin's depths, the codec computes it from the distance. A fill level above 100 % or a temperature
that is not a finite number is not trusted (uncertain / bad).
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Quality,
    Reader,
    check_fport,
    fill_percent,
)

MODEL = "Pepperl+Fuchs WILSEN.sonic.level"
DOMAIN = "waste"
UPLINK_FPORTS = frozenset({1})

_REPLIES = {0xF1: "device configuration", 0xF2: "GPS configuration", 0xF3: "LoRa configuration",
            0xF4: "ultrasonic configuration", 0xF5: "device information"}
_COUNTERS = {0x01: "uplink_counter", 0x02: "gps_counter", 0x03: "measurement_counter"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    distance: int | None = None
    sent_fill = False
    while reader.remaining:
        start = reader.pos
        length = reader.u8()
        if length < 2:
            raise DecodeError(f"record at offset {start} is {length} byte(s) long, too short for a type")
        record = Reader(reader.take(length))
        kind, sub = record.u8(), record.u8()
        if (kind, sub) in ((0x0B, 0x01), (0x0B, 0x02)):
            distance = record.u16() * (10 if sub == 0x01 else 1)
            out.point("distance", distance, "mm")
        elif (kind, sub) == (0x0B, 0x06):
            sent_fill = True
            out.percent("fill_level", record.u8())
        elif not _other(kind, sub, record, out):
            out.skip(f"record {kind:02x} {sub:02x} ({length - 2} byte(s))")
    if distance is not None and not sent_fill:
        fill = fill_percent(distance, options)
        if fill is not None:
            out.point("fill_level", fill, "%")
    return out.build()


def _other(kind: int, sub: int, record: Reader, out: DecodedBuilder) -> bool:
    if (kind, sub) == (0x02, 0x01):
        out.point("temperature", round(record.f32(), 2), "°C")
    elif (kind, sub) == (0x0B, 0x07):
        out.point("echo_amplitude", record.u8())
    elif (kind, sub) == (0x0C, 0x03):
        out.point("sensor_details", record.u16())
    elif (kind, sub) == (0x0C, 0x04):
        out.point("sensor_status", record.u8())
    elif (kind, sub) == (0x2A, 0x25):
        out.point("serial_number", record.take(record.remaining).split(b"\0")[0].decode("ascii", "replace"))
    elif kind == 0x31 and sub in _COUNTERS:
        out.point(_COUNTERS[sub], record.u32() if sub == 0x03 else record.u16())
    elif kind == 0x50 and sub in (0x01, 0x02):
        value = int.from_bytes(record.take(4), "big", signed=True) / 1e6
        limit = 90 if sub == 0x01 else 180
        quality = Quality.GOOD if abs(value) <= limit else Quality.UNCERTAIN
        out.point("latitude" if sub == 0x01 else "longitude", value, "°", quality=quality,
                  note=None if quality is Quality.GOOD else f"GPS coordinate {value} out of range")
    elif (kind, sub) == (0x51, 0x01):
        out.point("battery_voltage", record.u8() / 10, "V")
    elif (kind, sub) == (0xF3, 0x05):
        out.point("report_interval", record.u32(), "s")
    elif kind in _REPLIES:
        out.skip(f"record {kind:02x} {sub:02x}: reply to a {_REPLIES[kind]} command")
    else:
        return False
    return True
