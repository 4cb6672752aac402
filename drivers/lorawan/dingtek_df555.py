"""Dingtek DF555 ultrasonic level sensor for bins and containers (fPort 3, framed 0x80 ... 0x81, big-endian).

From Dingtek's DF555 codec in the TTN device repository (vendor/dingtek/df555-codec.yaml and its examples) and
Dingtek's decoder for the family (facts only, no code copied). Frame: [0] 0x80, [1..2] version, [3] type (0x03
parameters, any other a measurement: 0x01 heartbeat, 0x02 alarm), [4] frame length, ..., last byte 0x81.
Measurement, 17 bytes: [5..6] level (distance to the contents) mm, [7] GPS enabled, [8] temperature degC,
[11] level alarm (high nibble), [12] low battery (low nibble), [13..14] frame counter. With GPS, 25 bytes: the
same after eight bytes of longitude and latitude (float32 little-endian) at [8..15]. Parameters, 17 bytes:
[5].[6] firmware, [7] heartbeat interval h, [8] detection interval min, [9] level alarm threshold cm, [14] work
mode; [10..13] carry no DF555 setting in the vendor's decoder and are skipped.
Downlinks are ASCII hex text: "8002" "9999" <option> <value> "81" (01 interval h, 08 detection min, 02 cm).

Departures from the vendor decoder: the temperature byte is read signed (the vendor reads it unsigned, so -1 degC
would come out as 255), and the GPS floats are read as IEEE-754 (the vendor's own conversion divides the mantissa
by 2^23 - 1 and is off in the sixth decimal).
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

MODEL = "Dingtek DF555"
DOMAIN = "waste"
UPLINK_FPORTS = frozenset({3})
COMMANDS = {
    "set_interval": "heartbeat interval in seconds (whole hours, 1-255 h)",
    "set_detection_interval": "level detection interval in seconds (whole minutes, 1-255 min)",
    "set_full_threshold": "level alarm distance in millimetres (whole centimetres, 150-2550 mm)",
}
_HEADER, _TAIL, _PARAMETERS = 0x80, 0x81, 0x03
_SHORT, _WITH_GPS = 17, 25


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    if reader.u8() != _HEADER:
        raise DecodeError("not a DF555 frame (first byte is not 0x80)")
    reader.take(2)
    frame_type, length = reader.u8(), reader.u8()
    allowed = (_SHORT,) if frame_type == _PARAMETERS else (_SHORT, _WITH_GPS)
    if length not in allowed or len(data) != length:
        raise DecodeError(f"DF555 frame length byte {length} does not match a {len(data)}-byte payload")
    if data[-1] != _TAIL:
        raise DecodeError("DF555 frame does not end with 0x81")
    out = DecodedBuilder()
    if frame_type == _PARAMETERS:
        _parameters(reader, out)
    else:
        _measurement(reader, out, length, options)
    return out.build()


def _measurement(reader: Reader, out: DecodedBuilder, length: int, options: CodecOptions) -> None:
    distance = reader.u16()
    out.point("gps_enabled", reader.u8() == 1)
    if length == _WITH_GPS:
        out.point("longitude", round(reader.f32(little=True), 6), "°")
        out.point("latitude", round(reader.f32(little=True), 6), "°")
    out.point("temperature", reader.i8(), "°C")
    reader.take(2)
    level_alarm, battery_alarm = reader.u8(), reader.u8()
    out.point("frame_counter", reader.u16())
    out.point("distance", distance, "mm")
    fill = fill_percent(distance, options)
    if fill is not None:
        out.point("fill_level", fill, "%")
    out.alarm("full", bool(level_alarm >> 4))
    out.alarm("low_battery", bool(battery_alarm & 0x0F))


def _parameters(reader: Reader, out: DecodedBuilder) -> None:
    major, minor = reader.u8(), reader.u8()
    out.point("firmware_version", f"{major}.{minor}")
    out.point("report_interval", reader.u8() * 3600, "s")
    out.point("detection_interval", reader.u8() * 60, "s")
    out.point("full_threshold", reader.u8() * 10, "mm")
    reader.take(4)
    out.skip("parameter bytes 10-13 (no DF555 setting)")
    out.point("work_mode", reader.u8())


def _frame(option: int, value: int) -> Downlink:
    return Downlink(3, f"80029999{option:02X}{value:02X}81".encode("ascii"))


def encode(command: str, value: object) -> Downlink:
    if command == "set_interval":
        seconds = int_in_range(value, 3600, 255 * 3600, "interval (seconds)")
        if seconds % 3600:
            raise EncodeError("the DF555 heartbeat interval is set in whole hours (a multiple of 3600 s)")
        return _frame(0x01, seconds // 3600)
    if command == "set_detection_interval":
        seconds = int_in_range(value, 60, 255 * 60, "detection interval (seconds)")
        if seconds % 60:
            raise EncodeError("the DF555 detection interval is set in whole minutes (a multiple of 60 s)")
        return _frame(0x08, seconds // 60)
    if command == "set_full_threshold":
        millimetres = int_in_range(value, 150, 2550, "level alarm threshold (mm)")
        if millimetres % 10:
            raise EncodeError("the DF555 level alarm threshold is set in whole centimetres (a multiple of 10 mm)")
        return _frame(0x02, millimetres // 10)
    raise EncodeError(f"unknown command '{command}'")
