"""Parametric PCR2 radar people/bicycle/vehicle counter (fPort 14 counts, fPort 190 configuration; big-endian).

Formats (Parametric's PCR2 payload and configuration payload descriptions V2-V6, and its decoder in the TTN device
repository): fPort 14 carries one of three application payloads, as configured: ELSYS-style records (0x0A
left-to-right u16, 0x16 right-to-left u16, 0x01 CPU temperature int16 / 10 degC); Cayenne LPP (channel 0 presence =
left-to-right, channel 1 presence = right-to-left, channel 2 temperature); the extended payload BE 01 <version 3|4>:
LTR u16, RTL u16, LTR sum u16, RTL sum u16, solar battery (v3: u8 %, v4: u16 mV), solar panel power u16 mW, CPU
temperature int16 / 10. fPort 190 carries the configuration, sent after a join and in reply to a configuration
downlink: v2 (14 bytes, no header), v3 (20), v4 (31), v5 (34), v6 (35 bytes), the last four after BE 01 <version>.

Where this departs from the vendor's decoder: the temperature keeps its tenth of a degree (the decoder truncates it
to a whole degree); LPP payloads are decoded (the decoder has an empty branch for them); an unknown record keeps the
records read before it; a payload of no documented layout is a decode error (the decoder returns an object holding
an error text, or logs to a console ChirpStack does not have).
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
DOMAIN = "mobility"
UPLINK_FPORTS = frozenset({14, 190})
_VENDOR, _FAMILY = 0xBE, 0x01
_LPP_SIZES = {0x00: 1, 0x01: 1, 0x02: 2, 0x03: 2, 0x65: 2, 0x66: 1, 0x67: 2, 0x68: 1, 0x71: 6, 0x73: 2, 0x86: 6,
              0x88: 9}
_CONFIG_LENGTHS = {3: 20, 4: 31, 5: 34, 6: 35}
_DEVICE_TYPES = {0: "PCR2-IN", 1: "PCR2-OD", 2: "PCR2-R", 3: "PCR2-T", 4: "PCR2-XIO"}
_MODES = {0: "timespan", 1: "not_zero", 2: "trigger", 3: "capacity_alert"}
_PAYLOADS = {0: "elsys", 1: "cayenne_lpp", 2: "extended"}
_CLASSES = {0: "class_a", 2: "class_c"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    if not data:
        raise DecodeError("empty payload: too short for any PCR2 frame")
    reader = Reader(data)
    out = DecodedBuilder()
    if f_port == 190:
        _configuration(data, reader, out)
    elif data[:2] == bytes([_VENDOR, _FAMILY]):
        _extended(reader, out)
    elif data[:2] == bytes([0x00, 0x66]):
        _lpp(reader, out)
    else:
        _elsys(reader, out)
    reader.end()
    return out.build()


def _elsys(reader: Reader, out: DecodedBuilder) -> None:
    while reader.remaining:
        tag = reader.u8()
        if tag == 0x0A:
            out.point("count_left_to_right", reader.u16())
        elif tag == 0x16:
            out.point("count_right_to_left", reader.u16())
        elif tag == 0x01:
            out.point("temperature", reader.i16() / 10, "°C")
        else:
            reader.pos -= 1
            out.stop_at_unknown(f"unknown record type 0x{tag:02x}", reader)


def _lpp(reader: Reader, out: DecodedBuilder) -> None:
    names = {(0, 0x66): "count_left_to_right", (1, 0x66): "count_right_to_left"}
    while reader.remaining:
        start = reader.pos
        channel, kind = reader.u8(), reader.u8()
        if (channel, kind) in names:
            out.point(names[(channel, kind)], reader.u8())
        elif (channel, kind) == (2, 0x67):
            out.point("temperature", reader.i16() / 10, "°C")
        elif kind in _LPP_SIZES:
            reader.take(_LPP_SIZES[kind])
            out.skip(f"LPP channel {channel} type 0x{kind:02x} ({_LPP_SIZES[kind]} bytes) at offset {start}")
        else:
            reader.pos = start
            out.stop_at_unknown(f"unknown LPP type 0x{kind:02x} on channel {channel}", reader)


def _extended(reader: Reader, out: DecodedBuilder) -> None:
    reader.take(2)
    version = reader.u8()
    if version not in (3, 4):
        raise DecodeError(f"extended payload version {version} is not documented (3 or 4)")
    out.point("count_left_to_right", reader.u16())
    out.point("count_right_to_left", reader.u16())
    out.point("total_left_to_right", reader.u16())
    out.point("total_right_to_left", reader.u16())
    if version == 3:
        percent = reader.u8()
        out.percent("solar_battery", percent, battery=True)
    else:
        out.point("solar_battery_voltage", reader.u16() / 1000, "V")
    out.point("solar_panel_power", reader.u16(), "mW")
    out.point("temperature", reader.i16() / 10, "°C")


def _configuration(data: bytes, reader: Reader, out: DecodedBuilder) -> None:
    if len(data) == 14 and data[0] != _VENDOR:
        version = 2
    elif data[:2] == bytes([_VENDOR, _FAMILY]) and len(data) >= 3 and _CONFIG_LENGTHS.get(data[2]) == len(data):
        version = data[2]
        reader.take(3)
    else:
        raise DecodeError(f"a {len(data)}-byte fPort 190 payload is no documented configuration (v2: 14 bytes;"
                          " v3-v6: BE 01 <version>, 20, 31, 34 or 35 bytes)")
    out.point("config.version", version)
    code = reader.u8()
    out.point("config.device_type", _DEVICE_TYPES.get(code, f"unknown_{code}"))
    out.point("firmware_version", f"{reader.u8()}.{reader.u8()}.{reader.u8()}")
    _named(out, "config.operating_mode", reader.u8(), _MODES)
    _named(out, "config.payload_type", reader.u8(), _PAYLOADS)
    if version >= 3:
        _named(out, "config.device_class", reader.u8(), _CLASSES)
    out.point("config.confirmed_uplinks", bool(reader.u8()))
    out.point("config.uplink_interval", reader.u16(), "min")
    out.point("config.link_check_interval", reader.u16(), "min")
    if version >= 3:
        out.point("config.capacity_limit", reader.u16())
    out.point("config.holdoff_time", reader.u16(), "s")
    if version >= 4:
        _radar(version, reader, out)
    else:
        out.percent("config.radar_sensitivity", reader.u8())


def _radar(version: int, reader: Reader, out: DecodedBuilder) -> None:
    out.point("config.inactivity_timeout", reader.u16(), "min")
    if version == 4:
        out.point("config.mounting_direction", reader.u8(), "°")
        out.point("config.mounting_tilt", reader.u8(), "°")
    else:
        out.point("config.radar_enabled", bool(reader.u8()))
    out.point("config.beam_angle", reader.u8(), "°")
    out.point("config.min_distance", reader.u16(), "cm")
    out.point("config.max_distance", reader.u16(), "cm")
    out.point("config.min_speed", reader.u8(), "km/h")
    out.point("config.max_speed", reader.u8(), "km/h")
    if version >= 5:
        out.point("config.radar_autotune", bool(reader.u8()))
    out.percent("config.radar_sensitivity", reader.u8())
    if version >= 5:
        out.point("sbx_firmware_version", f"{reader.u8()}.{reader.u8()}.{reader.u8()}")
    if version >= 6:
        out.point("config.radar_channel", reader.u8())


def _named(out: DecodedBuilder, name: str, code: int, names: dict[int, str]) -> None:
    out.point(name, names.get(code, f"unknown_{code}"))
