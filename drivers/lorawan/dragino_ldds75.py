"""Dragino LDDS75 ultrasonic distance sensor, used on bins (fPort 2, big-endian).

Layout (Dragino's LDDS75 manual and codec): [0..1] battery mV (low 14 bits), [2..3] distance mm (0 = no sensor,
20 = invalid reading), [4] interrupt flag, [5..6] DS18B20 temperature int16 / 10 degC, [7] sensor flag.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    Downlink,
    EncodeError,
    Reader,
    check_fport,
    fill_percent,
    int_in_range,
)

MODEL = "Dragino LDDS75"
UPLINK_FPORTS = frozenset({2})
COMMANDS = {"set_interval": "uplink interval in seconds (30-16777215)"}

_NO_SENSOR = 0
_INVALID = 20


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    battery_mv = reader.u16() & 0x3FFF
    distance = reader.u16()
    interrupt = reader.u8()
    temperature = reader.i16() / 10
    sensor_flag = reader.u8()
    out = DecodedBuilder()
    out.point("battery_voltage", battery_mv / 1000, "V")
    out.alarm("sensor_fault", distance in (_NO_SENSOR, _INVALID))
    if distance not in (_NO_SENSOR, _INVALID):
        out.point("distance", distance, "mm")
        fill = fill_percent(distance, options)
        if fill is not None:
            out.point("fill_level", fill, "%")
    out.point("temperature", temperature, "°C")
    out.point("interrupt", bool(interrupt))
    out.point("sensor_flag", sensor_flag)
    return out.build()


def encode(command: str, value: object) -> Downlink:
    if command != "set_interval":
        raise EncodeError(f"unknown command '{command}'")
    seconds = int_in_range(value, 30, 0xFFFFFF, "interval (seconds)")
    return Downlink(1, bytes([0x01]) + seconds.to_bytes(3, "big"))
