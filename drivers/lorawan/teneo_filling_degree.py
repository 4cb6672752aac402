"""Teneo IoT filling-degree (fill-rate) sensor for bins (fPorts 1, 2, 3, big-endian).

From Teneo IoT's codec in the TTN device repository (vendor/teneo-iot/filling-degree-sensor.js and its codec
examples; facts only, no code copied). Every frame starts with the battery: 2 V + b / 10. fPort 1, measurement:
[1..2] distance u16 cm; then, by length, nothing (3), a status byte (4), temperature u16 / 100 degC and relative
humidity u16 / 100 % (7), or status then temperature and humidity (8). Status 0 = good, 4 = no echo (nothing in
range), anything else = a sensor error code. fPort 2: error report, [1] the same status code. fPort 3: the
sensor is charging.

The distance is given in millimetres (the device's centimetres x 10). No echo and an error code make the distance
a bad point (never the vendor's -1); an error code also raises ``sensor_fault`` and is kept as ``error_code``.
Departure from the vendor decoder: the temperature is read signed, so frost reads below zero rather than
near 655 degC.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Reader,
    check_fport,
    fill_percent,
)

MODEL = "Teneo IoT filling-degree sensor"
DOMAIN = "waste"
UPLINK_FPORTS = frozenset({1, 2, 3})
_NO_ECHO = 4


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    out.point("battery_voltage", round(2 + reader.u8() / 10, 1), "V")
    if f_port == 3:
        out.point("charging", True)
    elif f_port == 2:
        _status(out, reader.u8())
    else:
        _measurement(reader, out, options, len(data))
    if reader.remaining and f_port in (2, 3):
        reader.take(reader.remaining)
        out.skip(f"fPort {f_port}: bytes after the ones the vendor documents")
    return out.build()


def _measurement(reader: Reader, out: DecodedBuilder, options: CodecOptions, length: int) -> None:
    if length not in (3, 4, 7, 8):
        raise DecodeError(f"a {length}-byte measurement does not match a documented layout (3, 4, 7 or 8 bytes)")
    distance = reader.u16() * 10
    status = reader.u8() if length in (4, 8) else 0
    if length >= 7:
        out.point("temperature", reader.i16() / 100, "°C")
        out.percent("humidity", reader.u16() / 100)
    if _status(out, status):
        out.point("distance", distance, "mm")
        fill = fill_percent(distance, options)
        if fill is not None:
            out.point("fill_level", fill, "%")


def _status(out: DecodedBuilder, status: int) -> bool:
    """Record the status; True when the distance can be trusted."""
    out.alarm("sensor_fault", status not in (0, _NO_ECHO))
    if status == 0:
        return True
    if status == _NO_ECHO:
        out.bad("distance", "distance: no echo (nothing within the sensor's range)", "mm")
    else:
        out.point("error_code", status)
        out.bad("distance", f"distance: the sensor reported error code {status}", "mm")
    return False
