"""Dingtek DF702 ultrasonic bin-fill sensor with fire and tilt alarms (fPort 3, framed, big-endian).

Frame (Dingtek's DF702 codec): 0x80 ... 0x81; [3] data type (0x01 heartbeat), [4] frame length (17, or 25 with
GPS). 17 bytes: [5..6] level mm, [8] temperature degC, [9] angle sign, [10] angle deg, [11] full (high nibble) /
fire (low nibble) alarms, [12] tilt (high nibble) / low battery (low nibble). 25 bytes: GPS longitude and latitude
as float32 little-endian at [8..15], the same fields shifted by 8 after them.
Downlinks are ASCII hex text: "8002" "9999" <option> <value> "81".
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

MODEL = "Dingtek DF702"
UPLINK_FPORTS = frozenset({3})
COMMANDS = {
    "set_interval": "heartbeat interval in seconds (whole hours, 1-255 h)",
    "set_detection_interval": "level detection interval in seconds (whole minutes, 1-255 min)",
    "set_full_threshold": "full alarm distance in millimetres (whole centimetres, 10-2550 mm)",
    "set_fire_threshold": "fire alarm temperature in degC (1-255)",
    "set_tilt_threshold": "tilt alarm angle in degrees (1-90)",
}
_HEADER, _TAIL, _HEARTBEAT = 0x80, 0x81, 0x01
_SHORT, _WITH_GPS = 17, 25


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    if reader.u8() != _HEADER:
        raise DecodeError("not a DF702 frame (first byte is not 0x80)")
    reader.take(2)
    frame_type, length = reader.u8(), reader.u8()
    if frame_type != _HEARTBEAT:
        raise DecodeError(f"DF702 frame type 0x{frame_type:02x} is not decoded (only 0x01 heartbeat)")
    if length not in (_SHORT, _WITH_GPS) or len(data) != length:
        raise DecodeError(f"DF702 frame length byte {length} does not match a {len(data)}-byte payload")
    out = DecodedBuilder()
    distance = reader.u16()
    reader.u8()
    if length == _WITH_GPS:
        out.point("longitude", round(reader.f32(little=True), 6), "°")
        out.point("latitude", round(reader.f32(little=True), 6), "°")
    temperature = reader.i8()
    sign, angle = reader.u8(), reader.u8()
    full_fire, tilt_battery = reader.u8(), reader.u8()
    reader.take(length - reader.pos - 1)
    if reader.u8() != _TAIL:
        raise DecodeError("DF702 frame does not end with 0x81")
    tilted = bool(tilt_battery >> 4)
    out.point("distance", distance, "mm")
    fill = fill_percent(distance, options)
    if fill is not None and not tilted:
        out.point("fill_level", fill, "%")
    out.point("temperature", temperature, "°C")
    out.point("tilt_angle", -angle if sign else angle, "°")
    out.alarm("full", bool(full_fire >> 4))
    out.alarm("fire", bool(full_fire & 0x0F))
    out.alarm("tilt", tilted)
    out.alarm("low_battery", bool(tilt_battery & 0x0F))
    return out.build()


def _frame(option: int, value: int) -> Downlink:
    return Downlink(3, f"80029999{option:02X}{value:02X}81".encode("ascii"))


def encode(command: str, value: object) -> Downlink:
    if command == "set_interval":
        seconds = int_in_range(value, 3600, 255 * 3600, "interval (seconds)")
        if seconds % 3600:
            raise EncodeError("the DF702 heartbeat interval is set in whole hours (a multiple of 3600 s)")
        return _frame(0x01, seconds // 3600)
    if command == "set_detection_interval":
        seconds = int_in_range(value, 60, 255 * 60, "detection interval (seconds)")
        if seconds % 60:
            raise EncodeError("the DF702 detection interval is set in whole minutes (a multiple of 60 s)")
        return _frame(0x08, seconds // 60)
    if command == "set_full_threshold":
        millimetres = int_in_range(value, 10, 2550, "full threshold (mm)")
        if millimetres % 10:
            raise EncodeError("the DF702 full threshold is set in whole centimetres (a multiple of 10 mm)")
        return _frame(0x02, millimetres // 10)
    if command == "set_fire_threshold":
        return _frame(0x03, int_in_range(value, 1, 255, "fire threshold (degC)"))
    if command == "set_tilt_threshold":
        return _frame(0x04, int_in_range(value, 1, 90, "tilt threshold (degrees)"))
    raise EncodeError(f"unknown command '{command}'")
