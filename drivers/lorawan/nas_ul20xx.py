"""NAS UL20xx luminaire controller (DALI/D4i, NEMA/Zhaga): dimming, lamp status, energy (little-endian).

Layout (nasys/nas-codecs, UL20xx 1.1.x payload description): fPort 23 status packet, fPort 26 usage packet,
fPort 60 responses to dimming commands. Addresses: 0xFE DALI broadcast, 2n DALI short address n, 0x80 | 2n
DALI group n, 0x01 analog 0-10 V; 0xFF in a usage record is the internal meter. Points of one driver carry its
address as a suffix (``dimming_level.dali_broadcast``). Power factor is given in percent like every percentage.
Downlinks on fPort 60: 01 [address level]... dims (level 0xFF resumes the programme); 09 address level minutes
dims for a time; 05 <bits> asks for a status (bit 1) or usage (bit 0) report.
"""

from __future__ import annotations

import math

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Downlink,
    EncodeError,
    Reader,
    check_fport,
    int_in_range,
    on_off,
)

MODEL = "NAS UL20xx"
UPLINK_FPORTS = frozenset({23, 26, 49, 50, 60, 61, 99})
_NOT_DECODED = {49: "configuration response", 50: "configuration response", 61: "notification",
                99: "boot/system packet"}
COMMANDS = {
    "set_level": "dimming level 0-100 for all drivers, or {DALI short address 0-63: level}",
    "switch": "on (100 %) / off (0 %) for all drivers",
    "set_level_timed": "{'level': 0-100, 'minutes': 1-255} for all drivers",
    "resume": "back to the programmed dimming (no value)",
    "request_status": "ask for a status packet (no value)",
    "request_usage": "ask for a usage packet (no value)",
}
_PORT_COMMAND = 60
_BROADCAST = 0xFE
_MIN_EPOCH = 1_420_070_400  # before 2015: the node's clock is not set
_REASONS = {0x21: "calendar_day", 0x22: "calendar_night", 0x70: "dig_inactive", 0x71: "dig_active",
            245: "relay_off", 246: "driver_not_found", 248: "fallback_active", 250: "ldr_input_active",
            252: "dig_input_active", 253: "manual_active", 255: "unknown"}
_DALI_BITS = ("driver_error", "lamp_failure", "lamp_on", "limit_error", "fade_running", "reset_state",
              "missing_short_address", "power_failure")
_DALI_POINTS = {"lamp_on", "fade_running"}


def address_name(byte: int, ff_name: str = "invalid") -> str:
    if byte == 0x01:
        return "analog_0_10v"
    if byte == _BROADCAST:
        return "dali_broadcast"
    if byte == 0xFF:
        return ff_name
    if byte & 0x01:
        return "invalid"
    if byte & 0x80:
        return f"dali_group_{(byte >> 1) & 0x0F}"
    return f"dali_single_{(byte >> 1) & 0x3F}"


def _reason(code: int) -> str:
    if code <= 7:
        return f"profile_{code}"
    if 0x30 <= code <= 0x3F:
        return f"calendar_dawn_step_{code - 0x30}"
    if 0x50 <= code <= 0x5F:
        return f"calendar_dusk_step_{code - 0x50}"
    if 0x80 <= code <= 0x87:
        return f"light_monitor_step_{code - 0x80}"
    return _REASONS.get(code, "invalid_reason")


def _bit(byte: int, index: int) -> bool:
    return bool(byte >> index & 1)


def light_lux(raw: int) -> float | None:
    """The node's logarithmic light reading in lux; None when unavailable."""
    if raw == 0xFFFF:
        return None
    lux = 10 ** ((raw & 0x7FFF) / 4000.0) / 1000.0
    decimals = 3 - int(min(max(math.log10(lux), 0.0), 3.0)) if lux > 0 else 3
    return round(lux, decimals)


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    if f_port in _NOT_DECODED:
        raise DecodeError(f"fPort {f_port} ({_NOT_DECODED[f_port]}) is not decoded by this codec")
    reader = Reader(data)
    out = DecodedBuilder()
    if f_port == 23:
        _status(reader, out)
    elif f_port == 26:
        _usage(reader, out)
    else:
        _response(reader, out)
    return out.build()


def _status(reader: Reader, out: DecodedBuilder) -> None:
    header = reader.u8()
    if header not in (0x00, 0x01):
        raise DecodeError(f"status packet header 0x{header:02x} is not 0x00 or 0x01")
    legacy = header == 0x00
    epoch = reader.u32(little=True)
    out.alarm("clock_invalid", epoch < _MIN_EPOCH)
    if epoch >= _MIN_EPOCH:
        out.point("device_time", epoch, "s")
    bits = reader.u8()
    out.alarm("dali_connection_error", _bit(bits, 1))
    out.alarm("metering_error", _bit(bits, 5))
    out.alarm("rtc_warning", _bit(bits, 6))
    out.point("relay_closed", _bit(bits, 7))
    if legacy:
        out.point("ldr_input_on", _bit(bits, 2))
        out.point("dig_input_on", _bit(bits, 4))
    else:
        more = reader.u8()
        out.point("open_drain_output_on", _bit(more, 2))
        out.point("lumalink_connected", _bit(more, 6))
        out.point("lumalink_connected_after_boot", _bit(more, 7))
    out.point("downlink_rssi", -reader.u8(), "dBm")
    out.point("downlink_snr", reader.i8(), "dB")
    out.point("mcu_temperature", reader.i8(), "°C")
    alerts_sent = True
    if legacy:
        flags = reader.u8()
        out.point("open_drain_output_on", _bit(flags, 2))
        alerts_sent = _bit(flags, 4)
        if _bit(flags, 1):
            out.point("ldr_input", reader.u8())
    if alerts_sent:
        alerts = reader.u8()
        for index, name in enumerate(("voltage_alert", "lamp_error_alert", "power_alert", "power_factor_alert")):
            out.alarm(name, _bit(alerts, 4 + index))
    if not legacy:
        _sensor_sources(Reader(reader.take(reader.u8())), out)
    while reader.remaining:
        _dimming_source(reader, out)


def _sensor_sources(block: Reader, out: DecodedBuilder) -> None:
    while block.remaining:
        kind = block.u8()
        if kind == 0x01:
            out.point("ldr_input", block.u8())
        elif kind in (0x02, 0x03):
            lux = light_lux(block.u16(little=True))
            if lux is not None:
                out.point("light_level" if kind == 0x02 else "d4i_light_level", lux, "lx")
        elif kind == 0x04:
            out.point("dig_input_1", _bit(block.u8(), 0))
        elif kind == 0x08:
            degrees = block.u8()
            if degrees != 0xFF:
                out.point("tilt_angle", degrees, "°")
        else:
            return  # a newer sensor source: its length is unknown, the rest of the block is skipped


def _dimming_source(reader: Reader, out: DecodedBuilder) -> None:
    address = address_name(reader.u8())
    out.point(f"dimming_reason.{address}", _reason(reader.u8()))
    level = reader.u8()
    if level != 0xFF:
        out.point(f"dimming_level.{address}", level, "%")
    status = reader.u8()
    if status == 0xFF:
        return  # the driver did not answer: its status is unknown, not "all clear"
    for index, name in enumerate(_DALI_BITS):
        if name in _DALI_POINTS:
            out.point(f"{name}.{address}", _bit(status, index))
        else:
            out.alarm(f"{name}.{address}", _bit(status, index))


_USAGE_FIELDS = (  # (name, size, unit, scale)
    ("energy", 4, "Wh", 1.0), ("power", 2, "W", 1.0), ("load_side_energy", 4, "Wh", 1.0),
    ("load_side_power", 2, "W", 1.0), ("power_factor", 1, "%", 1.0), ("mains_voltage", 1, "V", 1.0),
    ("driver_operating_time", 4, "h", 1 / 3600), ("lamp_on_time", 4, "h", 1 / 3600),
)


def _usage(reader: Reader, out: DecodedBuilder) -> None:
    if reader.u8() != 0x00:
        raise DecodeError("usage packet header is not 0x00")
    while reader.remaining:
        address = address_name(reader.u8(), "internal_measurement")
        present = reader.u8()
        for index, (name, size, unit, scale) in enumerate(_USAGE_FIELDS):
            if not _bit(present, index):
                continue
            raw = {1: reader.u8, 2: lambda: reader.u16(little=True), 4: lambda: reader.u32(little=True)}[size]()
            if name == "power_factor" and raw == 0xFF:
                continue
            out.point(f"{name}.{address}", round(raw * scale, 1) if scale != 1.0 else raw, unit)


def _response(reader: Reader, out: DecodedBuilder) -> None:
    command = reader.u8()
    if command not in (0x01, 0x09):
        raise DecodeError(f"response to command 0x{command:02x} is not decoded (only dimming 0x01, 0x09)")
    while reader.remaining:
        address = address_name(reader.u8(), "all_devices")
        level = reader.u8()
        out.point(f"commanded_level.{address}", "resume" if level == 0xFF else level, None if level == 0xFF else "%")
        if command == 0x09:
            out.point(f"commanded_minutes.{address}", reader.u8(), "min")


def _levels(value: object) -> bytes:
    if isinstance(value, dict):
        if not value:
            raise EncodeError("set_level needs at least one address")
        pairs = bytearray()
        for address, level in value.items():
            if address == "broadcast":
                pairs.append(_BROADCAST)
            else:
                pairs.append(2 * int_in_range(int(str(address)) if str(address).isdigit() else address, 0, 63,
                                              "DALI short address"))
            pairs.append(int_in_range(level, 0, 100, "dimming level (%)"))
        return bytes(pairs)
    return bytes([_BROADCAST, int_in_range(value, 0, 100, "dimming level (%)")])


def encode(command: str, value: object) -> Downlink:
    if command == "set_level":
        return Downlink(_PORT_COMMAND, b"\x01" + _levels(value))
    if command == "switch":
        return Downlink(_PORT_COMMAND, bytes([0x01, _BROADCAST, 100 if on_off(value) else 0]))
    if command == "resume":
        return Downlink(_PORT_COMMAND, bytes([0x01, _BROADCAST, 0xFF]))
    if command == "set_level_timed":
        if not isinstance(value, dict):
            raise EncodeError("set_level_timed takes {'level': 0-100, 'minutes': 1-255}")
        level = int_in_range(value.get("level"), 0, 100, "dimming level (%)")
        minutes = int_in_range(value.get("minutes"), 1, 255, "duration (minutes)")
        return Downlink(_PORT_COMMAND, bytes([0x09, _BROADCAST, level, minutes]))
    if command == "request_status":
        return Downlink(_PORT_COMMAND, bytes([0x05, 0x02]))
    if command == "request_usage":
        return Downlink(_PORT_COMMAND, bytes([0x05, 0x01]))
    raise EncodeError(f"unknown command '{command}'")
