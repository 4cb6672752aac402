"""Dingtek DF702 ultrasonic bin-fill sensor with fire and tilt alarms (fPort 3, framed, big-endian).

Frames (Dingtek's DF702/DF703 LoRaWAN protocol V2.8, its TTN and ChirpStack decoders): 0x80 ... 0x81; [3] data
type: 0x01 heartbeat, 0x02 alarm (sent at once when an alarm starts; same layout), 0x03 parameters; [4] frame
length (17, or 25 with GPS or for parameters).
Heartbeat/alarm, 17 bytes: [5..6] level mm, [8] temperature degC, [9] angle sign, [10] angle deg, [11] full (high
nibble) / fire (low nibble) alarms, [12] tilt (high nibble) / low battery (low nibble), [13..14] frame counter.
With GPS, 25 bytes: longitude and latitude as float32 little-endian at [8..15], the same fields shifted by 8.
Parameters, 25 bytes: [5..6] firmware version, [7] heartbeat interval h, [8] detection interval min, [9] full
threshold cm, [10] fire threshold degC, [11] tilt threshold deg, [12] tilt detection on, [13] ultrasonic range
(0: 2 m, else 5 m).
Downlinks are ASCII hex text: "8002" "9999" <option> <value> "81".

Where this departs from the vendor's decoders: the angle's sign comes from byte [9] (their operator-precedence
bug makes every angle negative); the temperature is a signed byte (their decoder reads it unsigned; the sensor works
below 0 degC, and a fire is flagged by its own bit whatever the reading); GPS floats are read as IEEE-754 (their
conversion divides the mantissa by 0x7FFFFF) and a non-finite one is a BAD point; values are numbers in our units
(theirs are text with units); a frame whose length byte, header or tail is wrong is refused.
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
    on_off,
)

MODEL = "Dingtek DF702"
DOMAIN = "waste"
UPLINK_FPORTS = frozenset({3})
COMMANDS = {
    "set_interval": "heartbeat interval in seconds (whole hours, 1-168 h)",
    "set_detection_interval": "level detection interval in seconds (whole minutes, 1-60 min)",
    "set_full_threshold": "full alarm distance in millimetres (whole centimetres, 150-2550 mm)",
    "set_fire_threshold": "fire alarm temperature in degC (1-255)",
    "set_tilt_threshold": "tilt alarm angle in degrees (15-90)",
    "set_tilt_detection": "tilt detection on/off",
    "set_range": "ultrasonic range in millimetres: 2000 or 5000",
}
_HEADER, _TAIL = 0x80, 0x81
_HEARTBEAT, _ALARM, _PARAMETERS = 0x01, 0x02, 0x03
_SHORT, _LONG = 17, 25


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    if reader.u8() != _HEADER:
        raise DecodeError("not a DF702 frame (first byte is not 0x80)")
    reader.take(2)
    frame_type, length = reader.u8(), reader.u8()
    if length not in (_SHORT, _LONG) or len(data) != length:
        raise DecodeError(f"DF702 frame length byte {length} does not match a {len(data)}-byte payload")
    if data[-1] != _TAIL:
        raise DecodeError("DF702 frame does not end with 0x81")
    out = DecodedBuilder()
    if frame_type in (_HEARTBEAT, _ALARM):
        _measurement(reader, length, out, options)
    elif frame_type == _PARAMETERS and length == _LONG:
        _parameters(reader, out)
    else:
        raise DecodeError(f"DF702 frame type 0x{frame_type:02x} with length {length} is not documented")
    return out.build()


def _measurement(reader: Reader, length: int, out: DecodedBuilder, options: CodecOptions) -> None:
    distance = reader.u16()
    reader.u8()
    if length == _LONG:
        out.point("longitude", round(reader.f32(little=True), 6), "°")
        out.point("latitude", round(reader.f32(little=True), 6), "°")
    temperature = reader.i8()
    sign, angle = reader.u8(), reader.u8()
    full_fire, tilt_battery = reader.u8(), reader.u8()
    out.point("frame_counter", reader.u16())
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


def _parameters(reader: Reader, out: DecodedBuilder) -> None:
    out.point("firmware_version", f"{reader.u8()}.{reader.u8()}")
    out.point("heartbeat_interval", reader.u8() * 3600, "s")
    out.point("detection_interval", reader.u8() * 60, "s")
    out.point("full_threshold", reader.u8() * 10, "mm")
    out.point("fire_threshold", reader.u8(), "°C")
    out.point("tilt_threshold", reader.u8(), "°")
    out.point("tilt_detection", bool(reader.u8()))
    out.point("ultrasonic_range", 2000 if reader.u8() == 0 else 5000, "mm")


def _frame(option: int, value: int) -> Downlink:
    return Downlink(3, f"80029999{option:02X}{value:02X}81".encode("ascii"))


def _whole(value: object, span: tuple[int, int], step: int, what: str, unit: str) -> int:
    """A value in our units (s, mm) that the device takes in whole ``unit``s (hours, minutes, centimetres)."""
    label = f"{what} ({'mm' if unit == 'centimetres' else 'seconds'})"
    number = int_in_range(value, span[0] * step, span[1] * step, label)
    if number % step:
        raise EncodeError(f"the DF702 {what} is set in whole {unit} (a multiple of {step})")
    return number // step


def encode(command: str, value: object) -> Downlink:
    if command == "set_interval":
        return _frame(0x01, _whole(value, (1, 168), 3600, "heartbeat interval", "hours"))
    if command == "set_detection_interval":
        return _frame(0x08, _whole(value, (1, 60), 60, "detection interval", "minutes"))
    if command == "set_full_threshold":
        return _frame(0x02, _whole(value, (15, 255), 10, "full threshold", "centimetres"))
    if command == "set_fire_threshold":
        return _frame(0x03, int_in_range(value, 1, 255, "fire threshold (degC)"))
    if command == "set_tilt_threshold":
        return _frame(0x04, int_in_range(value, 15, 90, "tilt threshold (degrees)"))
    if command == "set_tilt_detection":
        return _frame(0x09, 0x0A if on_off(value) else 0x09)
    if command == "set_range":
        ranges = {2000: 0x07, 5000: 0x13}
        if value not in ranges:
            raise EncodeError(f"the DF702 ultrasonic range is 2000 or 5000 mm, got {value!r}")
        return _frame(0x09, ranges[int(str(value))])
    raise EncodeError(f"unknown command '{command}'")
