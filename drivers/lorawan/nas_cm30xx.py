"""NAS CM30xx water / gas meter readers (Cyble, Falcon, Modularis... pulse or encoder), firmware 2.3.x (LE).

From Nordic Automation Systems' codec nas-codecs (MIT), src/cm30xx_decoder.js and its tests at commit
4691977b60f3 (facts only, no code copied). The first byte is the packet type and must match its fPort:
0x04 usage on fPort 25; 0x20 general and 0x21 location configuration on fPort 50; 0x03 local time request /
response and 0xFF DFU command echo on fPort 60; 0x00 boot, 0x01 shutdown (a reason then a usage packet) and 0x13
faulty downlink on fPort 99; 0x7A / 0x72 wireless M-Bus (OMS) frames on fPort 20, skipped here (they need a full
M-Bus decoder).

Usage: alert bits (0 backflow, 1 broken pipe, 2 continuous flow, 3 tamper, 4 temperature, 5 low battery, 6 no
usage) -> alarms; meter status (0 connected, 1 no response, 2 and 4 protocol error, 3 meter damaged, 5 bus
shorted); multiplier exponent (bits 0-2, x 10^(n-6), n 3..7), medium (bits 3-4: water, warm water, gas), unit
(bits 5-6: m3, gal, ft3), privacy flag (bit 7: a readout date follows); age of the reading (coded); volume u32 x
multiplier; [readout date, M-Bus type G]; flags (bit 0 app connected within a day, bit 1 device status follows);
[battery years u8 / 12, battery voltage u8 / 100 + 1.5 V, temperature i8, min / max offsets (nibbles x 2 degC),
downlink RSSI -u8, SNR / uplink power nibbles, meter serial u32].

The volume is uncertain when the meter is not connected, and bad when the multiplier is not one the vendor
defines. Departure from the vendor decoder: the readout date's month is read 1-12, as M-Bus type G dates are;
the vendor's decoder passes it to JavaScript's 0-based month and so reports the month after.
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
)

MODEL = "NAS CM30xx meter reader"
DOMAIN = "water"
UPLINK_FPORTS = frozenset({20, 25, 50, 60, 99})
_PORT_OF = {0x04: 25, 0x20: 50, 0x21: 50, 0x03: 60, 0xFF: 60, 0x00: 99, 0x01: 99, 0x13: 99, 0x7A: 20, 0x72: 20}
_ALERTS = ("backflow", "broken_pipe", "continuous_flow", "tamper", "temperature", "low_battery", "no_usage")
_STATUS = {0: "connected", 1: "no_response", 2: "protocol_error", 3: "meter_damaged", 4: "protocol_error",
           5: "bus_shorted"}
_MEDIUM = {0: "water", 1: "warm_water", 2: "gas"}
_UNIT = {0: "m³", 1: "gal", 2: "ft³"}
_LORAWAN_PROFILES = {0x00: "disabled", 0x01: "24_h_privacy", 0x02: "24_h", 0x03: "12_h", 0x07: "1_h_static",
                     0x08: "15_min_static", 0x17: "1_h_dynamic", 0x18: "15_min_dynamic"}
_WMBUS_PROFILES = {0: "disabled", 1: "privacy", 2: "driveby", 3: "fixnet"}
_SHUTDOWN = {0x10: "calibration_timeout", 0x31: "magnet_shutdown", 0x32: "enter_dfu", 0x33: "app_shutdown",
             0x34: "switch_to_wmbus"}
_BOOT_REASONS = {0: "unknown_reset", 1: "from_shutdown", 2: "from_dfu", 3: "forced_reset", 4: "lorawan_rejoin"}
_HARDWARE = {0x00: "Modularis", 0x01: "Cyble", 0x02: "Falcon_PR", 0x03: "Picoflux", 0x04: "Falcon_MJ",
             0x06: "RCM_LMx", 0x20: "BK_G"}
_ERRORS = {2: "unknown_fport", 3: "packet_size_short", 4: "packet_size_long", 5: "value_error",
           6: "protocol_parse_error", 7: "reserved_flag_set", 8: "invalid_flag_combination",
           9: "unavailable_feature_request", 10: "unsupported_header", 11: "unreachable_hw_request",
           12: "address_not_available", 13: "internal_error"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    kind = reader.u8()
    if kind not in _PORT_OF:
        raise DecodeError(f"packet type 0x{kind:02x} is not a CM30xx packet")
    if _PORT_OF[kind] != f_port:
        raise DecodeError(f"packet type 0x{kind:02x} belongs on fPort {_PORT_OF[kind]}, not {f_port}")
    out = DecodedBuilder()
    if kind == 0x04:
        _usage(reader, out)
    elif kind == 0x20:
        _general_configuration(reader, out)
    elif kind == 0x21:
        _location_configuration(reader, out)
    elif kind in (0x00, 0x01, 0x13):
        _system(kind, reader, out)
    elif kind == 0x03 and reader.remaining:
        out.point("device_time", reader.u32(little=True), "s")
    elif kind == 0x03:
        out.point("time_requested", True)
    else:
        reader.take(reader.remaining)
        out.skip("wireless M-Bus (OMS) frame" if f_port == 20 else "DFU command echo")
    reader.end()
    return out.build()


def _usage(reader: Reader, out: DecodedBuilder) -> None:
    alerts = reader.u8()
    for index, name in enumerate(_ALERTS):
        out.alarm(name, bool(alerts >> index & 1))
    status = reader.u8()
    out.point("meter_status", _STATUS.get(status, f"invalid ({status})"))
    meter = reader.u8()
    exponent, medium, unit = meter & 0x07, meter >> 3 & 0x03, meter >> 5 & 0x03
    out.point("meter_medium", _MEDIUM.get(medium, f"invalid ({medium})"))
    _reading_age(out, reader.u8())
    volume = reader.u32(little=True)
    if not 3 <= exponent <= 7:
        out.bad("volume", f"volume: multiplier code {exponent} is not one the vendor defines", _UNIT.get(unit))
    elif status != 0:
        out.point("volume", round(volume * 10.0 ** (exponent - 6), 3), _UNIT.get(unit), quality=Quality.UNCERTAIN,
                  note=f"volume: the meter is not connected ({_STATUS.get(status, status)}), the reading may be old")
    else:
        out.point("volume", round(volume * 10.0 ** (exponent - 6), 3), _UNIT.get(unit))
    if meter & 0x80:
        out.point("meter_readout_date", _type_g_date(reader.u16(little=True)))
    flags = reader.u8()
    out.point("app_connected_within_a_day", bool(flags & 0x01))
    if flags & 0x02:
        _device_status(reader, out)


def _reading_age(out: DecodedBuilder, code: int) -> None:
    if code < 60:
        minutes = code
    elif code < 156:
        minutes = (code - 60) * 15
    elif code < 200:
        minutes = (code - 156) * 24 * 60
    elif code < 253:
        minutes = (code - 200) * 7 * 24 * 60
    elif code == 253:
        minutes = 365 * 24 * 60
    else:
        out.bad("reading_age", f"reading_age: the meter reports no valid age (code {code})", "s")
        return
    out.point("reading_age", minutes * 60, "s")


def _type_g_date(raw: int) -> str:
    day, year_low, month, year_high = raw & 0x1F, raw >> 5 & 0x07, raw >> 8 & 0x0F, raw >> 12 & 0x0F
    return f"{2000 + year_low + 8 * year_high:04d}-{month:02d}-{day:02d}"


def _device_status(reader: Reader, out: DecodedBuilder) -> None:
    out.point("battery_remaining_years", round(reader.u8() / 12, 1))
    out.point("battery_voltage", round(reader.u8() / 100 + 1.5, 2), "V")
    temperature = reader.i8()
    out.point("temperature", temperature, "°C")
    spread = reader.u8()
    out.point("temperature_min", temperature - 2 * (spread & 0x0F), "°C")
    out.point("temperature_max", temperature + 2 * (spread >> 4), "°C")
    out.point("downlink_rssi", -reader.u8(), "dBm")
    radio = reader.u8()
    out.point("downlink_snr", (radio & 0x0F) * 2 - 20, "dB")
    out.point("uplink_power", (radio >> 4) * 2, "dBm")
    _serial(out, "meter_serial", reader.u32(little=True))


def _serial(out: DecodedBuilder, name: str, serial: int) -> None:
    out.point(name, "not_available" if serial == 0xFFFFFFFF else f"{serial:08X}")


# general configuration: (flag, name, byte length); points are made for the first five, the rest are skipped
_GENERAL = (("lorawan_profile", 1), ("wmbus_profile", 1), ("meter_serial", 4), ("meter_unit", 1),
            ("configured_volume", 8), ("volume_offset", 4), ("nominal_flow", 2), ("backflow_alert", 2),
            ("broken_pipe_alert", 4), ("continuous_flow_alert", 1), ("no_usage_alert", 2), ("tamper_alert", 1),
            ("temperature_alert", 2))


def _general_configuration(reader: Reader, out: DecodedBuilder) -> None:
    flags = reader.u16(little=True)
    unit: str | None = None
    for index, (name, length) in enumerate(_GENERAL):
        if not flags >> index & 1:
            continue
        raw = reader.take(length)
        value = int.from_bytes(raw, "little")
        if name == "lorawan_profile":
            out.point(name, _LORAWAN_PROFILES.get(value, f"invalid ({value})"))
        elif name == "wmbus_profile":
            out.point(name, _WMBUS_PROFILES.get(value, f"invalid ({value})"))
        elif name == "meter_serial":
            _serial(out, name, value)
        elif name == "meter_unit":
            unit = _UNIT.get(value >> 5 & 0x03)
            out.point("meter_medium", _MEDIUM.get(value >> 3 & 0x03, f"invalid ({value >> 3 & 0x03})"))
        elif name == "configured_volume":
            out.point(name, value / 1000, unit)
        else:
            out.skip(f"0x20 setting {name} ({length} byte(s))")


def _location_configuration(reader: Reader, out: DecodedBuilder) -> None:
    flags = reader.u8()
    if flags & 0x01:
        out.point("latitude", int.from_bytes(reader.take(4), "little", signed=True) / 1e7, "°")
        out.point("longitude", int.from_bytes(reader.take(4), "little", signed=True) / 1e7, "°")
    if flags & 0x02:
        out.point("time_zone", reader.i8() / 4, "h")
    for bit, name in ((0x04, "address"), (0x08, "customer_id"), (0x10, "location_id")):
        if flags & bit:
            out.point(name, reader.take(reader.u8()).decode("utf-8", "replace"))


def _system(kind: int, reader: Reader, out: DecodedBuilder) -> None:
    if kind == 0x13:
        out.point("rejected_downlink_fport", reader.u8())
        reason = reader.u8()
        out.point("rejected_downlink_reason", _ERRORS.get(reason, f"code {reason}"))
    elif kind == 0x01:
        reason = reader.u8()
        out.point("shutdown_reason", _SHUTDOWN.get(reason, f"invalid ({reason})"))
        if reader.u8() != 0x04:
            raise DecodeError("shutdown packet without its usage part (0x04)")
        _usage(reader, out)
    else:
        _serial(out, "device_serial", reader.u32(little=True))
        out.point("firmware_version", ".".join(str(reader.u8()) for _ in range(3)))
        reader.u8()  # wake-up reason bits of the MCU, for the vendor's diagnosis
        reasons = reader.u8()
        out.point("boot_reason", _BOOT_REASONS.get(reasons >> 4 & 0x07, f"invalid ({reasons >> 4 & 0x07})"))
        out.point("configuration_restored", bool(reasons & 0x80))
        hardware = reader.u8()
        out.point("hardware_configuration", _HARDWARE.get(hardware, f"invalid ({hardware})"))
        reader.take(2)
        out.point("uptime", int.from_bytes(reader.take(3), "little"), "h")
