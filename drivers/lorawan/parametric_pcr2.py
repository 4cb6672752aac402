"""Parametric PCR2 radar people/bicycle/vehicle counter (fPort 14, big-endian).

Two formats (Parametric's PCR2 payload description): ELSYS-style TLV records (0x0A left-to-right u16,
0x16 right-to-left u16, 0x01 CPU temperature int16 / 10 degC), or the extended payload BE 01 <version 3|4>:
LTR u16, RTL u16, LTR sum u16, RTL sum u16, solar battery (v3: u8 %, v4: u16 mV), solar panel power u16 mW,
CPU temperature int16 / 10. fPort 190 carries configuration frames, which are not decoded here.
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

MODEL = "Parametric PCR2"
UPLINK_FPORTS = frozenset({14})
_EXTENDED = 0xBE
_FAMILY = 0x01


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    if data[:1] == bytes([_EXTENDED]):
        return _extended(reader)
    return _tlv(reader)


def _tlv(reader: Reader) -> Decoded:
    out = DecodedBuilder()
    while reader.remaining:
        tag = reader.u8()
        if tag == 0x0A:
            out.point("count_left_to_right", reader.u16())
        elif tag == 0x16:
            out.point("count_right_to_left", reader.u16())
        elif tag == 0x01:
            out.point("temperature", reader.i16() / 10, "°C")
        else:
            raise DecodeError(f"unknown record type 0x{tag:02x} at offset {reader.pos - 1}")
    return out.build()


def _extended(reader: Reader) -> Decoded:
    reader.u8()
    if reader.u8() != _FAMILY:
        raise DecodeError("not a PCR2 payload (device family is not 0x01)")
    version = reader.u8()
    if version not in (3, 4):
        raise DecodeError(f"extended payload version {version} is not decoded (3 or 4)")
    out = DecodedBuilder()
    out.point("count_left_to_right", reader.u16())
    out.point("count_right_to_left", reader.u16())
    out.point("total_left_to_right", reader.u16())
    out.point("total_right_to_left", reader.u16())
    if version == 3:
        percent = reader.u8()
        out.point("solar_battery", percent, "%")
        out.battery(percent)
    else:
        out.point("solar_battery_voltage", reader.u16() / 1000, "V")
    out.point("solar_panel_power", reader.u16(), "mW")
    out.point("temperature", reader.i16() / 10, "°C")
    return out.build()
