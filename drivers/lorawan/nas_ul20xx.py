"""NAS UL20xx luminaire controller (DALI/D4i, NEMA/Zhaga): dimming, lamp status, energy, alerts (little-endian).

Layout (nasys/nas-codecs, UL20xx 1.1.x and 1.0.x payload descriptions and their tests): fPort 23 status, 26 usage
(firmware 1.0.x: 24 status with profiles, 25 usage without header), 60 replies to commands, 61 notifications
(digital and light inputs, DALI driver alerts, metering alerts, location), 99 boot and rejected-downlink packets, 50
configuration packets (sent in reply to a configuration request or change; firmware 1.0.x sends its own
calendar 0x06, profile 0x08, defaults 0x0A / 0x0E, holiday 0x0C and location 0x13 packets, and resets 0xFF 01-06,
ids 1.1.x does not reuse), 49 configuration requests (echoed).
Addresses: 0xFE DALI broadcast, 2n DALI short address n, 0x80 | 2n DALI group n, 0x01 analog 0-10 V; 0xFF in a usage
record is the internal meter. Points of one driver carry its address as a suffix (``dimming_level.dali_broadcast``);
configuration values are ``config.<name>``. Percentages stay percentages (power factor 86 %, where NAS writes 0.86).
Downlinks on fPort 60: 01 [address level]... dims (level 0xFF resumes the programme); 09 address level minutes dims
for a time; 05 <bits> asks for a status (bit 1) or usage (bit 0) report.

The node's own error flags are kept, not dropped: a dimming reason 0xFF (unknown) or undocumented is a BAD
``dimming_reason`` point; an unknown sensor source skips the rest of its block (its length is known), is listed
and raises ``unsupported_sensor_source``; an unavailable light or tilt reading (0xFFFF, 0xFF) and an unknown
power factor are BAD points; a driver that does not answer (status 0xFF) gives no flag rather than "all clear".
Where this departs from NAS's decoder: multicast session keys in a configuration packet are not stored (a point is
no place for a key); timestamps are Unix seconds; lists (profile steps, holidays) are text.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
DOMAIN = "lighting"
UPLINK_FPORTS = frozenset({23, 24, 25, 26, 49, 50, 60, 61, 99})
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
            252: "dig_input_active", 253: "manual_active"}
_DALI_BITS = ("driver_error", "lamp_failure", "lamp_on", "limit_error", "fade_running", "reset_state",
              "missing_short_address", "power_failure")
_DALI_POINTS = {"lamp_on", "fade_running"}
_ERRORS = {0: "n/a", 1: "n/a", 2: "unknown_fport", 3: "packet_size_short", 4: "packet_size_long", 5: "value_error",
           6: "protocol_parse_error", 7: "reserved_flag_set", 8: "invalid_flag_combination",
           9: "unavailable_feature_request", 10: "unsupported_header", 11: "unreachable_hw_request",
           12: "address_not_available", 13: "internal_error", 14: "packet_size_error", 0x81: "profile_id_seq_error",
           0x82: "profile_destination_error", 0x83: "profile_days_error", 0x84: "profile_step_count_error",
           0x85: "profile_step_value_error", 0x86: "profile_step_unsorted_error"}
_CONFIGS = ("dali", "dali_nc", "dali_no", "analog_nc", "analog_no", "dali_analog_nc", "dali_analog_no",
            "dali_analog_nc_no")
_STATES_V10 = {246: "driver_not_found", 247: "calendar_active", 248: "init_active", 249: "profile_not_active",
               250: "ldr_input_active", 252: "dig_input_active", 253: "manual_active", 254: "value_differ"}
_DAYS = ("holiday", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RESETS = ("reset_0", "watchdog_reset", "soft_reset", "reset_3", "reset_4", "reset_5", "reset_6", "reset_7")


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


def _reason(code: int) -> str | None:
    if code <= 7:
        return f"profile_{code}"
    if 0x30 <= code <= 0x3F:
        return f"calendar_dawn_step_{code - 0x30}"
    if 0x50 <= code <= 0x5F:
        return f"calendar_dusk_step_{code - 0x50}"
    if 0x80 <= code <= 0x87:
        return f"light_monitor_step_{code - 0x80}"
    return _REASONS.get(code)


def _bit(byte: int, index: int) -> bool:
    return bool(byte >> index & 1)


def _epoch(out: DecodedBuilder, epoch: int, name: str = "device_time") -> None:
    out.alarm("clock_invalid", epoch < _MIN_EPOCH)
    if epoch >= _MIN_EPOCH:
        out.point(name, epoch, "s")


def light_lux(raw: int) -> float | None:
    """The node's logarithmic light reading in lux; None when unavailable."""
    if raw == 0xFFFF:
        return None
    return _lux_rounded(10 ** ((raw & 0x7FFF) / 4000.0) / 1000.0)


def _lux_rounded(lux: float) -> float:
    decimals = 3 - int(min(max(math.log10(lux), 0.0), 3.0)) if lux > 0 else 3
    return round(lux, decimals)


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    if not data:
        raise DecodeError("empty payload: too short for any UL20xx packet")
    reader = Reader(data)
    out = DecodedBuilder()
    {23: _status, 24: _status_v10, 25: _usage_v10, 26: _usage, 49: _config_request, 50: _config, 60: _response,
     61: _notification, 99: _system}[f_port](reader, out)
    reader.end()
    return out.build()


# -- fPort 23: status ----------------------------------------------------------------------------------------

def _status(reader: Reader, out: DecodedBuilder) -> None:
    header = reader.u8()
    if header not in (0x00, 0x01):
        raise DecodeError(f"status packet header 0x{header:02x} is not 0x00 or 0x01")
    legacy = header == 0x00
    _epoch(out, reader.u32(little=True))
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
    out.alarm("unsupported_sensor_source", False)
    while block.remaining:
        start, kind = block.pos, block.u8()
        if kind == 0x01:
            out.point("ldr_input", block.u8())
        elif kind in (0x02, 0x03):
            name = "light_level" if kind == 0x02 else "d4i_light_level"
            lux = light_lux(block.u16(little=True))
            if lux is None:
                out.bad(name, f"{name}: the light sensor reports no reading (0xFFFF)", "lx")
            else:
                out.point(name, lux, "lx")
        elif kind == 0x04:
            out.point("dig_input_1", _bit(block.u8(), 0))
        elif kind == 0x08:
            degrees = block.u8()
            if degrees == 0xFF:
                out.bad("tilt_angle", "tilt_angle: the tilt sensor reports no reading (0xFF)", "°")
            else:
                out.point("tilt_angle", degrees, "°")
        else:
            rest = block.take(block.remaining)
            out.skip(f"sensor source 0x{kind:02x} at offset {start} of the sensor block and the {len(rest)} byte(s)"
                     " after it (the block's length is known, this source's is not)")
            out.alarm("unsupported_sensor_source", True)


def _dimming_source(reader: Reader, out: DecodedBuilder) -> None:
    address = address_name(reader.u8())
    code = reader.u8()
    reason = _reason(code)
    if reason is None:
        why = "the node flags its dimming reason as unknown (0xFF)" if code == 0xFF else \
            f"reason code {code} is not documented"
        out.bad(f"dimming_reason.{address}", f"dimming_reason.{address}: {why}")
    else:
        out.point(f"dimming_reason.{address}", reason)
    level = reader.u8()
    if level != 0xFF:
        out.percent(f"dimming_level.{address}", level)
    _dali_status(address, reader.u8(), out)


def _dali_status(address: str, status: int, out: DecodedBuilder) -> None:
    if status == 0xFF:
        return  # the driver did not answer: its status is unknown, not "all clear"
    for index, name in enumerate(_DALI_BITS):
        if name in _DALI_POINTS:
            out.point(f"{name}.{address}", _bit(status, index))
        else:
            out.alarm(f"{name}.{address}", _bit(status, index))


# -- fPorts 24 and 25: firmware 1.0.x ----------------------------------------------------------------------------

def _status_v10(reader: Reader, out: DecodedBuilder) -> None:
    _epoch(out, reader.u32(little=True))
    bits = reader.u8()
    out.alarm("dali_external_error", _bit(bits, 0))
    out.alarm("dali_connection_error", _bit(bits, 1))
    out.point("ldr_input_on", _bit(bits, 2))
    out.point("dig_input_on", _bit(bits, 4))
    out.alarm("hardware_error", _bit(bits, 5))
    out.point("relay_closed", _bit(bits, 7))
    out.point("downlink_rssi", -reader.u8(), "dBm")
    out.point("downlink_snr", reader.i8(), "dB")
    out.point("mcu_temperature", reader.i8(), "°C")
    flags = reader.u8()
    out.point("open_drain_output_on", _bit(flags, 2))
    for index, name in enumerate(("voltage_alert", "lamp_error_alert", "power_alert", "power_factor_alert")):
        out.alarm(name, _bit(flags, 4 + index))
    if _bit(flags, 1):
        out.point("ldr_input", reader.u8())
    while reader.remaining:
        profile, version = reader.u8(), reader.u8()
        address = address_name(reader.u8(), "all_devices")
        days = reader.u8()
        out.point(f"profile.{address}", "no_profile" if profile == 0xFF else profile)
        if version < 240:
            out.point(f"profile_version.{address}", version)
        elif version in _STATES_V10:
            out.point(f"profile_state.{address}", _STATES_V10[version])
        else:
            why = "unknown (0xFF)" if version == 0xFF else f"code {version} is not documented"
            out.bad(f"profile_state.{address}", f"profile_state.{address}: the node flags the profile state as {why}")
        out.point(f"days_active.{address}", ",".join(d for i, d in enumerate(_DAYS) if _bit(days, i)))
        level = reader.u8()
        if level != 0xFF:
            out.percent(f"dimming_level.{address}", level)


def _usage_v10(reader: Reader, out: DecodedBuilder) -> None:
    _usage_records(reader, out)


# -- fPort 26: usage -----------------------------------------------------------------------------------------

_USAGE_FIELDS = (  # (name, size, unit, scale)
    ("energy", 4, "Wh", 1.0), ("power", 2, "W", 1.0), ("load_side_energy", 4, "Wh", 1.0),
    ("load_side_power", 2, "W", 1.0), ("power_factor", 1, "%", 1.0), ("mains_voltage", 1, "V", 1.0),
    ("driver_operating_time", 4, "h", 1 / 3600), ("lamp_on_time", 4, "h", 1 / 3600),
)


def _usage(reader: Reader, out: DecodedBuilder) -> None:
    if reader.u8() != 0x00:
        raise DecodeError("usage packet header is not 0x00")
    _usage_records(reader, out)


def _usage_records(reader: Reader, out: DecodedBuilder) -> None:
    while reader.remaining:
        address = address_name(reader.u8(), "internal_measurement")
        present = reader.u8()
        for index, (name, size, unit, scale) in enumerate(_USAGE_FIELDS):
            if not _bit(present, index):
                continue
            raw = {1: reader.u8, 2: lambda: reader.u16(little=True), 4: lambda: reader.u32(little=True)}[size]()
            if name == "power_factor" and raw == 0xFF:
                out.bad(f"{name}.{address}", f"{name}.{address}: the meter reports it as unknown (0xFF)", unit)
                continue
            if unit == "%":
                out.percent(f"{name}.{address}", raw)
                continue
            out.point(f"{name}.{address}", round(raw * scale, 1) if scale != 1.0 else raw, unit)


# -- fPort 60: replies to commands ---------------------------------------------------------------------------

def _response(reader: Reader, out: DecodedBuilder) -> None:
    command = reader.u8()
    if command in (0x01, 0x09):
        while reader.remaining:
            address = address_name(reader.u8(), "all_devices")
            level = reader.u8()
            if level == 0xFF:
                out.point(f"commanded_level.{address}", "resume")
            else:
                out.percent(f"commanded_level.{address}", level)
            if command == 0x09:
                out.point(f"commanded_minutes.{address}", reader.u8(), "min")
    elif command == 0x03:
        _dali_query(reader, out)
    elif command == 0x04:
        out.point("dali_command_sent", reader.take(reader.remaining).hex())
    elif command == 0x05:
        _request_reply(reader, out)
    elif command in (0x07, 0x08):
        _driver_memory(command, reader, out)
    elif command == 0x0A:
        out.point("dali_addressing", address_name(reader.u8(), "rescan_dali_bus"))
    elif command == 0x0B:
        out.point("dali_identify", True)
    elif command == 0x0C:
        out.point("open_drain_output_on", _bit(reader.u8(), 0))
    elif command in (0x00, 0x06):
        _legacy_reply(command, reader, out)
    else:
        raise DecodeError(f"reply to command 0x{command:02x} is not documented")


def _legacy_reply(command: int, reader: Reader, out: DecodedBuilder) -> None:
    """Firmware 1.0.x: the DALI status request (0x00) and the interface request (0x06)."""
    if reader.remaining == 1:
        target = reader.u8()
        out.point("requested", "dali_status" if command == 0x00 else "interfaces")
        if command == 0x00:
            out.point("requested_address", "all_drivers" if target == 0xFE else address_name(target))
        return
    if command == 0x00:
        while reader.remaining:
            _dali_status(address_name(reader.u8()), reader.u8(), out)
        return
    dig, dig_value, ldr, ldr_value, threshold, _, relay, relay_bits = reader.take(8)
    if (dig, ldr, threshold, relay) != (0x01, 0x02, 0x03, 0x04):
        raise DecodeError("interface reply does not list the interfaces 01 02 03 04")
    if dig_value == 0xFF:
        out.bad("dig_input_on", "dig_input_on: the node reports the digital input as not available (0xFF)")
    else:
        out.point("dig_input_on", dig_value == 0x01)
    if ldr_value == 0xFF:
        out.bad("ldr_input", "ldr_input: the node reports the light input as not available (0xFF)")
    else:
        out.point("ldr_input", ldr_value)
    out.point("relay_closed", _bit(relay_bits, 0))
    out.point("open_drain_output_on", _bit(relay_bits, 1))


def _dali_query(reader: Reader, out: DecodedBuilder) -> None:
    raw = reader.take(reader.remaining)
    out.point("dali_query.raw", raw.hex())
    if len(raw) in (2, 3):
        address = address_name(raw[0])
        out.point(f"dali_query.query.{address}", raw[1])
        if len(raw) == 3:
            out.point(f"dali_query.answer.{address}", raw[2])


def _request_reply(reader: Reader, out: DecodedBuilder) -> None:
    bits = reader.u8()
    out.point("requested.usage", _bit(bits, 0))
    out.point("requested.status", _bit(bits, 1))
    out.point("requested.dim_map", _bit(bits, 2))
    out.point("requested.gnss_notification", _bit(bits, 3))
    while _bit(bits, 2) and reader.remaining:
        address = address_name(reader.u8())
        out.point(f"dali_min_level.{address}", reader.u8())
        out.point(f"dali_max_level.{address}", reader.u8())
        out.point(f"dimming_curve.{address}", "logarithmic" if reader.u8() == 0 else "linear")


def _driver_memory(command: int, reader: Reader, out: DecodedBuilder) -> None:
    what = "read" if command == 0x07 else "write"
    out.alarm(f"driver_memory_{what}_failed", reader.remaining == 0)
    if not reader.remaining:
        return
    address = address_name(reader.u8())
    out.point(f"driver_memory.{address}.bank", reader.u8())
    out.point(f"driver_memory.{address}.address", reader.u8())
    if command == 0x07:
        size = reader.u8()
        if reader.remaining:
            out.point(f"driver_memory.{address}.value", reader.take(size).hex())
    else:
        out.point(f"driver_memory.{address}.value", reader.take(reader.remaining).hex())


# -- fPort 61: notifications ---------------------------------------------------------------------------------

def _notification(reader: Reader, out: DecodedBuilder) -> None:
    header, second = reader.u8(), reader.u8()
    length = second >> 4
    if header == 0x80:
        if length not in (2, 4):
            raise DecodeError(f"digital input notification length {length} is not 2 or 4")
        if length == 4:
            out.point("dig_input_on", _bit(second, 0))
        out.point("dig_input_event_counter", reader.u32(little=True) if length == 4 else reader.u16(little=True))
    elif header == 0x81:
        if length != 2:
            raise DecodeError(f"light input notification length {length} is not 2")
        out.point("ldr_input_on", _bit(reader.u8(), 0))
        out.point("ldr_input", reader.u8())
    elif header == 0x83:
        while reader.remaining:
            _dali_status(address_name(reader.u8()), reader.u8(), out)
    elif header == 0x84:
        _metering_alert(second, reader, out)
    elif header == 0x85:
        out.point("light_sensor_dim_step", second)
    elif header == 0x86:
        _location(second, reader, out)
    else:
        raise DecodeError(f"notification 0x{header:02x} is not documented")


def _metering_alert(conditions: int, reader: Reader, out: DecodedBuilder) -> None:
    for index, name in enumerate(("lamp_error", "over_current", "under_voltage", "over_voltage",
                                  "low_power_factor")):
        out.alarm(f"metering.{name}", _bit(conditions, index))
    out.point("metering.power", reader.u16(little=True), "W")
    out.point("metering.voltage", reader.u16(little=True), "V")
    out.percent("metering.power_factor", reader.u8())


def _location(status: int, reader: Reader, out: DecodedBuilder) -> None:
    states = {0x00: "good_fix", 0x01: "no_fix", 0x02: "internal_error", 0xFF: "internal_error"}
    out.point("location_status", states.get(status, f"unknown_{status}"))
    out.alarm("location_error", status in (0x02, 0xFF))
    if status == 0x00:
        out.point("latitude", round(reader.f32(little=True), 6), "°")
        out.point("longitude", round(reader.f32(little=True), 6), "°")
        _epoch(out, reader.u32(little=True), "location_fix_time")


# -- fPort 99: boot and rejected downlinks -------------------------------------------------------------------

def _system(reader: Reader, out: DecodedBuilder) -> None:
    header = reader.u8()
    if header == 0x13:
        out.alarm("downlink_rejected", True)
        out.point("rejected_downlink.fport", reader.u8())
        code = reader.u8()
        out.point("rejected_downlink.reason", _ERRORS.get(code, f"unknown_{code}"))
        return
    if header != 0x00:
        raise DecodeError(f"fPort 99 packet 0x{header:02x} is not documented (0x00 boot, 0x13 rejected downlink)")
    out.point("serial_number", f"{reader.u32(little=True):08X}")
    out.point("firmware_version", f"{reader.u8()}.{reader.u8()}.{reader.u8()}")
    _epoch(out, reader.u32(little=True))
    config = reader.u8()
    out.point("device_config", _CONFIGS[config] if config < len(_CONFIGS) else f"unknown_{config}")
    features = reader.u8()
    for index, name in ((2, "dig_input"), (3, "ldr_input"), (4, "open_drain_output"), (5, "metering")):
        out.point(f"feature.{name}", _bit(features, index))
    _dali_supply(reader.u8(), out)
    drivers = reader.u8()
    out.point("dali_addressed_drivers", drivers & 0x7F)
    out.alarm("dali_unaddressed_driver", _bit(drivers, 7))
    if reader.remaining:
        resets = reader.u8()
        out.point("reset_reason", ",".join(name for i, name in enumerate(_RESETS) if _bit(resets, i)) or "none")
        out.alarm("watchdog_reset", _bit(resets, 1))


def _dali_supply(byte: int, out: DecodedBuilder) -> None:
    supply = byte & 0x7F
    out.point("dali_power_source", "external" if _bit(byte, 7) else "internal")
    out.alarm("dali_bus_error", supply == 0x7F)
    if supply < 0x70:
        out.point("dali_supply_state", "ok")
        out.point("dali_supply_voltage", supply, "V")
    else:
        out.point("dali_supply_state", {0x7E: "bus_high", 0x7F: "bus_error"}.get(supply, f"unknown_{supply}"))


# -- fPorts 49 and 50: configuration -------------------------------------------------------------------------

_REQUESTS = {0x01: "ldr_input", 0x03: "dig_input_legacy", 0x07: "status", 0x09: "time", 0x0B: "usage",
             0x0D: "boot_delay", 0x15: "onboard_led", 0x16: "metering_alert", 0x20: "calendar", 0x21: "profile",
             0x22: "fade", 0x23: "holiday", 0x24: "dali_monitor", 0x25: "fallback_dim", 0x26: "location",
             0x27: "lumalink", 0x28: "dig_input", 0x29: "light_sensor", 0x2A: "dim_notify", 0x2B: "interface_type",
             0x52: "multicast"}


_CONFIG_NAMES = {0x05: "open_drain_output", 0x53: "multicast_fcnt", 0xFF: "clear",
                 # firmware 1.0.x packets, whose ids 1.1.x does not reuse
                 0x06: "calendar_v10", 0x08: "profile_v10", 0x0A: "legacy_defaults", 0x0C: "holiday_v10",
                 0x0E: "defaults", 0x13: "location_v10"}


def _config_request(reader: Reader, out: DecodedBuilder) -> None:
    header = reader.u8()
    if header not in _REQUESTS:
        raise DecodeError(f"configuration request 0x{header:02x} is not documented")
    out.point("config.requested", _REQUESTS[header])
    if header in (0x21, 0x52) and reader.remaining:
        which = reader.u8()
        out.point("config.requested_id", "all" if which == 0xFF else which)


def _config(reader: Reader, out: DecodedBuilder) -> None:
    header = reader.u8()
    if header == 0xFE:
        while reader.remaining:
            _config(reader, out)
        return
    parser = _CONFIG_PARSERS.get(header)
    if parser is None:
        raise DecodeError(f"configuration packet 0x{header:02x} is not documented")
    out.point("config.packet", _CONFIG_NAMES.get(header) or _REQUESTS[header])
    parser(reader, out)


def _level(byte: int, off: str = "inactive") -> int | str:
    return off if byte == 0xFF else byte


def _level_percent(out: DecodedBuilder, name: str, byte: int, off: str = "inactive") -> None:
    """A configured level in %: 0xFF is ``off`` (the word the format gives it), above 100 a BAD point."""
    if byte == 0xFF:
        out.point(name, off, "%")
    else:
        out.percent(name, byte)


def _time_of_day(byte: int) -> str:
    minutes = byte * 10
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _cfg_ldr(reader: Reader, out: DecodedBuilder) -> None:
    out.point("config.ldr_off_threshold_high", _level(reader.u8(), "disabled"))
    out.point("config.ldr_on_threshold_low", _level(reader.u8(), "disabled"))
    out.point("config.ldr_alert_enabled", _bit(reader.u8(), 2))


def _cfg_dig_legacy(reader: Reader, out: DecodedBuilder) -> None:
    seconds = reader.u16(little=True)
    out.point("config.light_on_duration", "dig_input_disabled" if seconds == 0xFFFF else seconds, "s")
    bits = reader.u8()
    out.point("config.signal_edge_rising", _bit(bits, 1))
    out.point("config.dig_alert_enabled", _bit(bits, 2))
    out.point("config.address", address_name(reader.u8(), "all_devices"))
    _level_percent(out, "config.dimming_level", reader.u8(), "disabled")


def _cfg_open_drain(reader: Reader, out: DecodedBuilder) -> None:
    steps = []
    while reader.remaining:
        time, state = _time_of_day(reader.u8()), reader.u8()
        steps.append(f"{time} {'on' if state else 'off'}")
    out.point("config.open_drain_steps", ", ".join(steps))


def _cfg_time(reader: Reader, out: DecodedBuilder) -> None:
    epoch = reader.u32(little=True)
    if epoch == 0:
        out.point("config.time_sync", "lorawan_device_time_request")
    else:
        _epoch(out, epoch)


def _cfg_usage(reader: Reader, out: DecodedBuilder) -> None:
    out.point("config.usage_interval", reader.u32(little=True), "s")
    volts = reader.u8()
    if volts != 0xFF:
        out.point("config.mains_voltage", volts, "V")


def _cfg_boot_delay(reader: Reader, out: DecodedBuilder) -> None:
    out.point("config.boot_delay_range", reader.u8() if reader.remaining == 1 else reader.u16(little=True), "s")


def _cfg_metering_alert(reader: Reader, out: DecodedBuilder) -> None:
    if reader.u8() != 0x01:
        raise DecodeError("metering alert configuration sub-header is not 0x01")
    for name, unit in (("min_power", "W"), ("max_power", "W"), ("min_voltage", "V"), ("max_voltage", "V")):
        raw = reader.u16(little=True)
        out.point(f"config.{name}", "alert_off" if raw == 0xFFFF else raw, unit)
    factor = reader.u8()
    if factor == 0xFF:
        out.point("config.min_power_factor", "alert_off", "%")
    else:
        out.percent("config.min_power_factor", factor)


def _cfg_calendar(reader: Reader, out: DecodedBuilder) -> None:
    steps, bits = reader.u8(), reader.u8()
    for index, name in enumerate(("prefers_meta_pos", "clamps_profiles", "clamps_dig", "ignore_gnss")):
        out.point(f"config.calendar_{name}", _bit(bits, index))
    out.point("config.latitude", reader.i16(little=True) / 100, "°")
    out.point("config.longitude", reader.i16(little=True) / 100, "°")
    for label, count in (("sunrise", steps & 0x0F), ("sunset", steps >> 4)):
        items = [f"{reader.i8() / 6 + 90:.2f}° {_level(reader.u8(), 'disabled')}" for _ in range(count)]
        out.point(f"config.{label}_steps", ", ".join(items))


def _cfg_profile(reader: Reader, out: DecodedBuilder) -> None:
    profile = reader.u8()
    count = reader.u8()
    out.point("config.profile_id", "no_profile" if profile == 0xFF else profile)
    out.point("config.address", address_name(reader.u8(), "all_devices"))
    days = reader.u8()
    out.point("config.days_active", ",".join(d for i, d in enumerate(("holiday", "mon", "tue", "wed", "thu", "fri",
                                                                        "sat", "sun")) if _bit(days, i)))
    reader.u8()
    steps = [f"{_time_of_day(reader.u8())} {_level(reader.u8())}" for _ in range(count)]
    out.point("config.dimming_steps", ", ".join(steps))


_FADES = (0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0, 11.31, 16.0, 22.63, 32.0, 45.25, 64.0, 90.51)


def _cfg_fade(reader: Reader, out: DecodedBuilder) -> None:
    code = reader.u8()
    if code == 0xFF:
        out.point("config.fade_duration", "ignore")
    elif code < len(_FADES):
        out.point("config.fade_duration", _FADES[code], "s")
    else:
        out.bad("config.fade_duration", f"config.fade_duration: code {code} is not documented", "s")


def _cfg_holiday(reader: Reader, out: DecodedBuilder) -> None:
    days = [f"{reader.u8():02d}/{reader.u8():02d}" for _ in range(reader.u8())]
    out.point("config.holidays", ", ".join(days))


def _cfg_dali_monitor(reader: Reader, out: DecodedBuilder) -> None:
    bits = reader.u8()
    out.point("config.send_dali_alert", _bit(bits, 0))
    out.point("config.correct_dali_dimming_level", _bit(bits, 1))
    out.point("config.periodic_bus_scan", _bit(bits, 2))
    interval = reader.u16(little=True)
    out.point("config.dali_monitoring_interval", "disabled" if interval == 0 else interval, "s")


def _cfg_location(reader: Reader, out: DecodedBuilder) -> None:
    length = reader.u8()
    out.point("config.latitude", reader.i32(little=True) / 1e7, "°")
    out.point("config.longitude", reader.i32(little=True) / 1e7, "°")
    out.point("config.location_address", reader.take(length).decode("utf-8", errors="replace"))


def _cfg_dig_input(reader: Reader, out: DecodedBuilder) -> None:
    index = reader.u8()
    out.point("config.dig_input_enabled", index != 0xFF)
    if index == 0xFF:
        return
    bits = reader.u8()
    for bit, name in ((0, "dig_mode_button"), (1, "polarity_high_or_rising"), (2, "notify_on_activation"),
                      (3, "notify_on_inactivation"), (7, "source_d4i_motion_sensor")):
        out.point(f"config.{name}", _bit(bits, bit))
    out.point("config.address", address_name(reader.u8(), "all_devices"))
    _level_percent(out, "config.active_dimming_level", reader.u8())
    _level_percent(out, "config.inactive_dimming_level", reader.u8())
    out.point("config.on_delay", reader.u16(little=True), "s")
    out.point("config.off_delay", reader.u16(little=True), "s")


def _cfg_light_sensor(reader: Reader, out: DecodedBuilder) -> None:
    enabled = reader.u8() != 0xFF
    out.point("config.light_sensor_enabled", enabled)
    if not enabled:
        return
    bits = reader.u8()
    for bit, name in enumerate(("notify_every_step", "light_clamps_profile", "light_clamps_dig", "interpolate_steps")):
        out.point(f"config.{name}", _bit(bits, bit))
    out.point("config.measurement_duration", reader.u8(), "s")
    out.point("config.address", address_name(reader.u8(), "all_devices"))
    steps = []
    while reader.remaining:
        lux = reader.f32(little=True)
        level = _level(reader.u8())
        steps.append(f"{_lux_rounded(lux) if math.isfinite(lux) else lux} lx {level}")
    out.point("config.light_steps", ", ".join(steps))


def _cfg_dim_notify(reader: Reader, out: DecodedBuilder) -> None:
    delay = reader.u8()
    out.point("config.random_delay", "disabled" if delay == 0xFF else delay * 5, "s")
    out.point("config.packet_limit", reader.u8() * 60, "s")


def _cfg_multicast(reader: Reader, out: DecodedBuilder) -> None:
    device = reader.u8()
    if device > 3:
        raise DecodeError(f"multicast device {device} is not 0-3")
    out.point("config.multicast_device", device)
    out.point("config.multicast_devaddr", reader.take(4)[::-1].hex().upper())
    reader.take(32)
    out.skip("multicast session keys (32 bytes): not stored")


def _cfg_clear(reader: Reader, out: DecodedBuilder) -> None:
    targets = {0x21: "profile", 0x23: "holiday", 0x28: "dig_input", 0x29: "light_sensor", 0x52: "multicast",
               0xFF: "factory_reset",
               # firmware 1.0.x
               0x01: "ldr_input", 0x03: "dig_input", 0x04: "profile", 0x06: "holiday"}
    target = reader.u8()
    if target not in targets:
        raise DecodeError(f"configuration reset target 0x{target:02x} is not documented")
    out.point("config.reset", targets[target])
    if target in (0x21, 0x04):
        out.point("config.address", address_name(reader.u8(), "all_profiles"))
        if target == 0x04 and reader.remaining:
            out.point("config.profile_id", reader.u8())
    elif target == 0x52:
        device = reader.u8()
        out.point("config.multicast_device", "all" if device == 0xFF else device)
    elif target == 0xFF:
        out.point("serial_number", f"{reader.u32(little=True):08X}")


# -- firmware 1.0.x configuration packets (fPort 50) ------------------------------------------------------------

def _cfg_calendar_v10(reader: Reader, out: DecodedBuilder) -> None:
    sunrise, sunset = reader.i8(), reader.i8()
    cleared = sunrise == -1 and sunset == -1
    out.point("config.sunrise_offset", "disabled" if cleared else sunrise, "min")
    out.point("config.sunset_offset", "disabled" if cleared else sunset, "min")
    out.point("config.latitude", reader.i16(little=True) / 100, "°")
    out.point("config.longitude", reader.i16(little=True) / 100, "°")


def _cfg_profile_v10(reader: Reader, out: DecodedBuilder) -> None:
    profile, version = reader.u8(), reader.u8()
    out.point("config.profile_id", "no_profile" if profile == 0xFF else profile)
    if version < 240:
        out.point("config.profile_version", version)
    else:
        out.point("config.profile_state", _STATES_V10.get(version, f"unknown_{version}"))
    out.point("config.address", address_name(reader.u8(), "all_devices"))
    days = reader.u8()
    out.point("config.days_active", ",".join(d for i, d in enumerate(_DAYS) if _bit(days, i)))
    if reader.remaining % 2:
        raise DecodeError(f"profile steps are two bytes each, {reader.remaining} left")
    steps = [f"{_time_of_day(reader.u8())} {_level(reader.u8())}" for _ in range(reader.remaining // 2)]
    out.point("config.dimming_steps", ", ".join(steps))


def _cfg_legacy_defaults(reader: Reader, out: DecodedBuilder) -> None:
    out.percent("config.default_dimming_level", reader.u8())
    bits = reader.u8()
    out.point("config.ldr_alert_enabled", _bit(bits, 0))
    out.point("config.dig_alert_enabled", _bit(bits, 2))
    out.point("config.dali_alert_enabled", _bit(bits, 3))


def _cfg_holiday_v10(reader: Reader, out: DecodedBuilder) -> None:
    if reader.remaining % 2:
        raise DecodeError(f"holidays are two bytes each, {reader.remaining} left")
    days = [f"{reader.u8():02d}/{reader.u8():02d}" for _ in range(reader.remaining // 2)]
    out.point("config.holidays", ", ".join(days))


def _cfg_defaults(reader: Reader, out: DecodedBuilder) -> None:
    bits = reader.u8()
    if _bit(bits, 0):
        out.percent("config.default_dimming_level", reader.u8())
    if _bit(bits, 1):
        level = reader.u8()
        _level_percent(out, "config.max_dimming_level", level, "default")
    if _bit(bits, 2):
        _cfg_fade(reader, out)
    if _bit(bits, 3):
        out.point("config.switch_point", "sunset" if _bit(reader.u8(), 0) else "twilight")
    if _bit(bits, 4):
        out.point("config.legacy_mode_enabled", _bit(reader.u8(), 0))


def _cfg_location_v10(reader: Reader, out: DecodedBuilder) -> None:
    bits = reader.u8()
    if _bit(bits, 0):
        out.point("config.latitude", reader.i32(little=True) / 1e7, "°")
        out.point("config.longitude", reader.i32(little=True) / 1e7, "°")
    if _bit(bits, 1):
        out.point("config.location_address", reader.take(reader.u8()).decode("utf-8", errors="replace"))


Parser = Callable[[Reader, DecodedBuilder], None]


def _one(name: str, parse: str, unit: str | None = None) -> Parser:
    def parser(reader: Reader, out: DecodedBuilder) -> None:
        raw = reader.u32(little=True) if parse == "u32" else reader.u8()
        if unit == "%":
            out.percent(name, raw)
        else:
            out.point(name, raw, unit)
    return parser


def _cfg_enum(name: str, names: dict[int, str]) -> Parser:
    def parser(reader: Reader, out: DecodedBuilder) -> None:
        code = reader.u8()
        out.point(name, names.get(code, f"unknown_{code}"))
    return parser


def _cfg_led(reader: Reader, out: DecodedBuilder) -> None:
    out.point("config.status_led_enabled", _bit(reader.u8(), 0))


def _cfg_multicast_fcnt(reader: Reader, out: DecodedBuilder) -> None:
    out.point("config.multicast_device", reader.u8())
    out.point("config.multicast_fcnt", reader.u32(little=True))


_CONFIG_PARSERS: dict[int, Parser] = {
    0x01: _cfg_ldr, 0x03: _cfg_dig_legacy, 0x05: _cfg_open_drain, 0x07: _one("config.status_interval", "u32", "s"),
    0x09: _cfg_time, 0x0B: _cfg_usage, 0x0D: _cfg_boot_delay, 0x15: _cfg_led, 0x16: _cfg_metering_alert,
    0x20: _cfg_calendar, 0x21: _cfg_profile, 0x22: _cfg_fade, 0x23: _cfg_holiday, 0x24: _cfg_dali_monitor,
    0x25: _one("config.fallback_dimming_level", "u8", "%"), 0x26: _cfg_location,
    0x27: _cfg_enum("config.lumalink_mode", {0: "never_advertise", 1: "first_commission", 2: "every_boot",
                                             3: "always"}),
    0x28: _cfg_dig_input, 0x29: _cfg_light_sensor, 0x2A: _cfg_dim_notify,
    0x2B: _cfg_enum("config.interface_type", {0: "dali", 1: "analog_0_10v", 254: "factory_default"}),
    0x52: _cfg_multicast, 0x53: _cfg_multicast_fcnt, 0xFF: _cfg_clear,
    0x06: _cfg_calendar_v10, 0x08: _cfg_profile_v10, 0x0A: _cfg_legacy_defaults, 0x0C: _cfg_holiday_v10,
    0x0E: _cfg_defaults, 0x13: _cfg_location_v10,
}


# -- downlinks -----------------------------------------------------------------------------------------------

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
