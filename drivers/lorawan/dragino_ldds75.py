"""Dragino LDDS75 ultrasonic distance sensor, used on bins (fPort 2, big-endian).

Layout (Dragino's LDDS75 manual and its decoder v1.1.4, dragino/dragino-end-node-decoder): 8 bytes, [0..1] battery
mV (low 14 bits), [2..3] distance mm (0: no sensor; 20 and below: invalid reading), [4] interrupt flag, [5..6]
DS18B20 temperature int16 / 10 degC, [7] sensor flag (1: ultrasonic sensor detected). Firmware before v1.1 sent 5
bytes: battery, distance, interrupt flag (the TTN repository's ldds75.js).

Where this departs from the vendors' decoders: a missing or invalid distance is a BAD point and the sensor_fault
alarm (the decoders print the text "No Sensor"/"Invalid Reading" in its place); on 5-byte frames the distance is
taken at bytes [2..3] (the TTN decoder stores the battery bits as the distance).
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

MODEL = "Dragino LDDS75"
DOMAIN = "waste"
UPLINK_FPORTS = frozenset({2})
COMMANDS = {"set_interval": "uplink interval in seconds (30-16777215)"}

_NO_SENSOR = 0
_INVALID_UP_TO = 20
_CURRENT, _LEGACY = 8, 5


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    if len(data) not in (_CURRENT, _LEGACY):
        raise DecodeError(f"an LDDS75 frame is 8 bytes (5 before firmware v1.1), not {len(data)}: payload too short"
                          if len(data) < _CURRENT else f"an LDDS75 frame is 8 bytes, not {len(data)}")
    reader = Reader(data)
    out = DecodedBuilder()
    out.point("battery_voltage", (reader.u16() & 0x3FFF) / 1000, "V")
    distance = reader.u16()
    out.point("interrupt", bool(reader.u8()))
    sensor_ok = True
    if len(data) == _CURRENT:
        out.point("temperature", reader.i16() / 10, "°C")
        sensor_flag = reader.u8()
        out.point("sensor_flag", sensor_flag)
        sensor_ok = sensor_flag != 0
    out.alarm("sensor_fault", distance <= _INVALID_UP_TO or not sensor_ok)
    if distance == _NO_SENSOR:
        out.bad("distance", "distance: 0, no ultrasonic sensor answered", "mm")
    elif distance <= _INVALID_UP_TO:
        out.bad("distance", f"distance: {distance} mm is the sensor's invalid-reading code", "mm")
    else:
        out.point("distance", distance, "mm")
        fill = fill_percent(distance, options)
        if fill is not None:
            out.point("fill_level", fill, "%")
    return out.build()


def encode(command: str, value: object) -> Downlink:
    if command != "set_interval":
        raise EncodeError(f"unknown command '{command}'")
    seconds = int_in_range(value, 30, 0xFFFFFF, "interval (seconds)")
    return Downlink(1, bytes([0x01]) + seconds.to_bytes(3, "big"))
