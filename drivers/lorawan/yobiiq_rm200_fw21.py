"""YOBIIQ RM200 iQ Digital Controller with firmware 2.1 or later: two relays switching lighting circuits (big-endian).

From YOBIIQ's codec 2.0.0 for RM200 firmware >= 2.1 (Yobiiq-BV/codecs IQ-RM200-LRW/IQ-RM200-LRW.js
and IQ-RM200-LRW.txt at commit 9bebcfd; facts only, no code copied). Firmware 2.1 changed every register of the earlier
firmware: a controller of firmware 2.0 or before uses the codec ``yobiiq_rm200``. Records are
[channel][type][value], the value's length fixed by the type: fPorts 1-5 periodic data (channel 01), fPort 11 alarms
(channel AA), fPorts 50-99 device information (channel FF), fPort 100 parameters read back (channel FF). Types: 1A /
2A relay 1 / 2 state (0 off, 1 on), 1B / 2B relay command, 1C / 2C switching count u32, 1D / 2D state at power-on
and 1E / 2E state on a LoRaWAN watchdog timeout (0 off, 1 on, 2 retain), 1F / 2F button override allowed, 10 / 20
button override (0 none, 1 manual on, 2 manual off); 64 device status (0 normal, 1 button mode), 65 manufacturer, 66
original manufacturer and 67 model (text up to the next record), 68 serial number u32 (in decimal, as printed on the
device), 69 / 6A firmware / hardware version (two bytes, hex digits), 6B mains power (0 off, 1 on), 6C battery
voltage (x 0.1 V), 6D battery %, 78 internal temperature alarm, 79 its count u32, 7A internal temperature int16 /
100 degC, 7B internal humidity %, 82 / 83 ambient temperature and humidity, 96 joined, 9D application port, 9E join
type, 9F LoRaWAN class (0 A, 1 B, 2 C), A0 ADR, A1 data rate (0 SF12 ... 5 SF7, 6 SF7 BW250), A3 radio mode, A4 join
attempts, A5 link-check timeframe u16, A6 retransmission, A7 LoRaWAN watchdog alarm; FE time u32 and 01 data-logger
time u32 (data and alarm frames only). A one-byte frame answers a downlink: 0 accepted, 1 refused. Downlinks on
fPort 50: FF 1B <0|1> relay 1, FF 2B <0|1> relay 2, FF 6F 01 reboot.

Departures from the vendor codec: an unknown record stops the decoding (what came before is kept, the rest is
listed in ``skipped``) where it returns an error and nothing; the relays' states are booleans, the alarms flags.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    Downlink,
    EncodeError,
    Quality,
    Reader,
    check_fport,
    int_in_range,
    on_off,
)

MODEL = "YOBIIQ RM200 iQ Digital Controller (firmware 2.1+)"
DOMAIN = "lighting"
UPLINK_FPORTS = frozenset({1, 2, 3, 4, 5, 11, 100} | set(range(50, 100)))
COMMANDS = {
    "switch": "on/off for both relays, or {relay 1-2: on/off}",
    "reboot": "restart the controller (no value)",
}
_CONFIG_PORT = 50
_TEXTS = {0x65: "manufacturer", 0x66: "original_manufacturer", 0x67: "model"}
_RELAY = {0x0A: ("relay_{n}", 1), 0x0B: ("relay_{n}_command", 1), 0x0C: ("relay_{n}_count", 4),
          0x0D: ("relay_{n}_power_on_state", 1), 0x0E: ("relay_{n}_watchdog_state", 1),
          0x0F: ("relay_{n}_button_override_enabled", 1), 0x00: ("relay_{n}_button_override", 1)}
_RELAY_MODES = {0: "off", 1: "on", 2: "retain"}
_OVERRIDES = {0: "none", 1: "manual_on", 2: "manual_off"}
# generic registers: type -> (point, length)
_GENERIC = {0x64: ("button_mode", 1), 0x68: ("serial_number", 4), 0x69: ("firmware_version", 2),
            0x6A: ("hardware_version", 2), 0x6B: ("mains_power", 1), 0x6C: ("battery_voltage", 1),
            0x6D: ("battery", 1), 0x78: ("temperature_alarm", 1), 0x79: ("temperature_alarm_count", 4),
            0x7A: ("temperature", 2), 0x7B: ("humidity", 1), 0x82: ("ambient_temperature", 2),
            0x83: ("ambient_humidity", 1), 0x96: ("joined", 1), 0x9D: ("application_port", 1),
            0x9E: ("join_type", 1), 0x9F: ("lorawan_class", 1), 0xA0: ("adr", 1), 0xA1: ("data_rate", 1),
            0xA3: ("radio_mode", 1), 0xA4: ("join_attempts", 1), 0xA5: ("link_check_timeframe", 2),
            0xA6: ("retransmission", 1), 0xA7: ("watchdog_alarm", 1)}
_TIMES = {0xFE: "device_time", 0x01: "log_time"}
_BOOLEANS = {"button_mode", "mains_power", "joined", "adr", "retransmission"}
_ALARMS = {"temperature_alarm", "watchdog_alarm"}
_CHOICES = {"join_type": {1: "otaa"}, "lorawan_class": {0: "A", 1: "B", 2: "C"},
            "data_rate": {0: "SF12BW125", 1: "SF11BW125", 2: "SF10BW125", 3: "SF9BW125", 4: "SF8BW125",
                          5: "SF7BW125", 6: "SF7BW250"},
            "radio_mode": {0: "lorawan", 1: "iq_d2d", 2: "lorawan_and_iq_d2d"}}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    out = DecodedBuilder()
    if len(data) == 1:
        out.point("downlink_accepted", data[0] == 0)
        return out.build()
    channel = 0x01 if f_port <= 5 else 0xAA if f_port == 11 else 0xFF
    generic_only = 50 <= f_port <= 99
    reader = Reader(data)
    while reader.remaining:
        start = reader.pos
        if reader.u8() != channel or not reader.remaining or not _record(
                reader.u8(), reader, out, channel=channel, generic_only=generic_only, timed=f_port <= 11):
            out.stop_at_unknown("unknown record", _at(reader, start))
            break
    return out.build()


def _at(reader: Reader, position: int) -> Reader:
    reader.pos = position
    return reader


def _record(kind: int, reader: Reader, out: DecodedBuilder, *, channel: int, generic_only: bool,
            timed: bool) -> bool:
    if kind in _TEXTS:
        text = bytearray()
        while reader.remaining:
            byte = reader.u8()
            if byte == channel:
                reader.pos -= 1
                break
            text.append(byte)
        out.point(_TEXTS[kind], text.decode("ascii", "replace"))
        return True
    if kind in _GENERIC:
        name, length = _GENERIC[kind]
        _generic(name, reader.take(length), out)
        return True
    if timed and kind in _TIMES:
        out.point(_TIMES[kind], reader.u32(), "s")
        return True
    relay, register = kind >> 4, kind & 0x0F
    if generic_only or relay not in (1, 2) or register not in _RELAY:
        return False
    template, length = _RELAY[register]
    _relay(template.format(n=relay), register, int.from_bytes(reader.take(length), "big"), out)
    return True


def _generic(name: str, raw: bytes, out: DecodedBuilder) -> None:
    number = int.from_bytes(raw, "big")
    if name in ("firmware_version", "hardware_version"):
        out.point(name, f"V{raw[0]:x}.{raw[1]:x}")
    elif name == "serial_number":  # the serial printed on the device: the number in decimal
        out.point(name, str(number))
    elif name in ("temperature", "ambient_temperature"):
        out.point(name, int.from_bytes(raw, "big", signed=True) / 100, "°C")
    elif name in ("humidity", "ambient_humidity"):
        out.percent(name, number)
    elif name == "battery":
        out.percent(name, number, battery=True)
    elif name == "battery_voltage":
        out.point(name, round(number * 0.1, 1), "V")
    elif name in _ALARMS:
        out.alarm(name, number == 1)
    elif name in _BOOLEANS:
        out.point(name, number == 1)
    elif name in _CHOICES:
        _choice(name, number, _CHOICES[name], out)
    elif name == "link_check_timeframe":
        out.point(name, number, "s")
    else:
        out.point(name, number)


def _relay(name: str, register: int, number: int, out: DecodedBuilder) -> None:
    if register in (0x0A, 0x0B):
        if number in (0, 1):
            out.point(name, number == 1)
        else:
            out.bad(name, f"{name}: state {number} is neither off (0) nor on (1)")
    elif register in (0x0D, 0x0E):
        _choice(name, number, _RELAY_MODES, out)
    elif register == 0x00:
        _choice(name, number, _OVERRIDES, out)
    elif register == 0x0F:
        out.point(name, number == 1)
    else:
        out.point(name, number)


def _choice(name: str, number: int, names: dict[int, str], out: DecodedBuilder) -> None:
    if number in names:
        out.point(name, names[number])
    else:
        out.point(name, f"unknown_{number}", quality=Quality.UNCERTAIN,
                  note=f"{name}: value {number} is not documented")


def encode(command: str, value: object) -> Downlink:
    if command == "switch":
        if isinstance(value, dict):
            if not value:
                raise EncodeError("switch needs at least one relay")
            wanted = {int_in_range(int(str(k)) if str(k).isdigit() else k, 1, 2, "relay"): on_off(v)
                      for k, v in value.items()}
        else:
            wanted = dict.fromkeys((1, 2), on_off(value))
        payload = b"".join(bytes([0xFF, 0x1B if relay == 1 else 0x2B, int(state)])
                           for relay, state in sorted(wanted.items()))
        return Downlink(_CONFIG_PORT, payload)
    if command == "reboot":
        return Downlink(_CONFIG_PORT, bytes([0xFF, 0x6F, 0x01]))
    raise EncodeError(f"unknown command '{command}'")
