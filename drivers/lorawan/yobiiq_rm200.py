"""YOBIIQ RM200 iQ Digital Controller, two isolated relays switching lighting circuits (big-endian TLV).

From YOBIIQ's codec for the RM200 (Yobiiq-BV/codecs Codec_RM200/Codec_RM200.js and Codec_RM200_commands.txt;
facts only, no code copied). Records are [channel][type][value], the value's length fixed by the type.
fPort 50, device information (channel FF): 05 hardware version 2, 04 firmware version 2, 03 serial number 4 (decimal),
01 manufacturer and 02 model (text up to the next FF), 07 battery % 1, 08 battery voltage 1 (x 0.1 V), 11 LoRaWAN
class 1 (0 A, 1 B, 2 C), 06 mains power event 1 (0 off, 1 on). fPorts 1-5, periodic data (channel DD) and
fPort 100, parameters read back (channel FF): FE / FD time u32, 12 ADR, 13 spreading factor, 14 watchdog on,
15 watchdog timeout u16, 16 watchdog alarm, 64 state at power-on, 65 state on watchdog timeout, 66 button
override allowed, 67 operation mode (0 normal, 1 override), 69 temperature alarm, 70 temperature alarm count u32,
71 internal temperature int16 / 100 degC, 72 internal humidity %, 95 / 98 relay 1 / 2 state (0 off, 1 on,
2 off by button, 3 on by button), 96 / 99 relay 1 / 2 command, 97 / 9A relay 1 / 2 switching count u32.
fPort 11, alarms (channel AA): FE time, 00 temperature alarm, 01 / 02 relay 1 / 2 state, 03 watchdog alarm,
97 / 9A counts. A one-byte frame on any of these ports answers a downlink: 0 accepted, 1 refused.
Downlinks on fPort 50: FF 96 <0|1> relay 1, FF 99 <0|1> relay 2, FF 0A 01 reboot.

This codec is for firmware 2.0 and before; firmware 2.1 changed every register (codec ``yobiiq_rm200_fw21``).

Departures from the vendor codec: it steps over bytes it does not recognise one at a time and reads the switching
counts as signed; here an unknown record stops the decoding (what came before is kept, the rest is listed in
``skipped``) and the counts are unsigned.
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
    int_in_range,
    on_off,
)

MODEL = "YOBIIQ RM200 iQ Digital Controller"
DOMAIN = "lighting"
UPLINK_FPORTS = frozenset({1, 2, 3, 4, 5, 11, 50, 100})
COMMANDS = {
    "switch": "on/off for both relays, or {relay 1-2: on/off}",
    "reboot": "restart the controller (no value)",
}
_CONFIG_PORT = 50
_RELAY_STATES = {0: (False, "remote"), 1: (True, "remote"), 2: (False, "button"), 3: (True, "button")}
# data and parameter records (channel DD / FF on fPorts 1-5 and 100): type -> (point, length)
_DATA = {0xFE: ("device_time", 4), 0xFD: ("log_time", 4), 0x12: ("adr", 1), 0x13: ("spreading_factor", 1),
         0x14: ("watchdog_enabled", 1), 0x15: ("watchdog_timeout", 2), 0x16: ("watchdog_alarm", 1),
         0x64: ("power_on_state", 1), 0x65: ("watchdog_state", 1), 0x66: ("button_override_enabled", 1),
         0x67: ("override_mode", 1), 0x69: ("temperature_alarm", 1), 0x70: ("temperature_alarm_count", 4),
         0x71: ("temperature", 2), 0x72: ("humidity", 1), 0x95: ("relay_1", 1), 0x96: ("relay_1_command", 1),
         0x97: ("relay_1_count", 4), 0x98: ("relay_2", 1), 0x99: ("relay_2_command", 1), 0x9A: ("relay_2_count", 4)}
_ALARMS = {0xFE: "device_time", 0x00: "temperature_alarm", 0x01: "relay_1", 0x02: "relay_2",
           0x03: "watchdog_alarm", 0x97: "relay_1_count", 0x9A: "relay_2_count"}
_INFO = {0x05: ("hardware_version", 2), 0x04: ("firmware_version", 2), 0x03: ("serial_number", 4),
         0x07: ("battery", 1), 0x08: ("battery_voltage", 1), 0x11: ("lorawan_class", 1), 0x06: ("mains_power", 1)}
_STATE_ALARMS = ("temperature_alarm", "watchdog_alarm")


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    out = DecodedBuilder()
    if len(data) == 1:
        out.point("downlink_accepted", data[0] == 0)
        return out.build()
    reader = Reader(data)
    channel = {50: 0xFF, 11: 0xAA, 100: 0xFF}.get(f_port, 0xDD)
    while reader.remaining:
        start = reader.pos
        if reader.u8() != channel or not reader.remaining or not _record(f_port, reader.u8(), reader, out):
            out.skip(f"record at offset {start} and the {len(data) - start} byte(s) from it (unknown, length "
                     "unknown)")
            break
    return out.build()


def _record(f_port: int, kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    if f_port == 50:
        return _information(kind, reader, out)
    if f_port == 11:
        if kind not in _ALARMS:
            return False
        name = _ALARMS[kind]
        _value(name, reader.take(4 if kind in (0xFE, 0x97, 0x9A) else 1), out)
        return True
    if kind not in _DATA:
        return False
    name, length = _DATA[kind]
    _value(name, reader.take(length), out)
    return True


def _value(name: str, raw: bytes, out: DecodedBuilder) -> None:
    number = int.from_bytes(raw, "big")
    if name in ("relay_1", "relay_2"):
        closed, source = _RELAY_STATES.get(number & 0x03, (False, "remote"))
        out.point(name, closed)
        out.point(f"{name}_source", source)
    elif name in _STATE_ALARMS:
        out.alarm(name, number == 1)
    elif name == "temperature":
        out.point(name, int.from_bytes(raw, "big", signed=True) / 100, "°C")
    elif name == "humidity":
        out.percent(name, number)
    elif name in ("device_time", "log_time", "watchdog_timeout"):
        out.point(name, number, "s" if name != "watchdog_timeout" else "min")
    elif name in ("relay_1_command", "relay_2_command", "adr", "watchdog_enabled", "button_override_enabled",
                  "override_mode"):
        out.point(name, bool(number))
    else:
        out.point(name, number)


def _information(kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    if kind in (0x01, 0x02):  # text up to the next record (channel FF) or the end
        text = bytearray()
        while reader.remaining:
            byte = reader.u8()
            if byte == 0xFF:
                reader.pos -= 1
                break
            text.append(byte)
        out.point("manufacturer" if kind == 0x01 else "model", text.decode("ascii", "replace"))
        return True
    if kind not in _INFO:
        return False
    name, length = _INFO[kind]
    raw = reader.take(length)
    if name in ("hardware_version", "firmware_version"):
        out.point(name, f"V{raw[0]:x}.{raw[1]:x}")
    elif name == "serial_number":  # the serial printed on the device: the number in decimal
        out.point(name, str(int.from_bytes(raw, "big")))
    elif name == "battery":
        out.percent(name, raw[0], battery=True)
    elif name == "battery_voltage":
        out.point(name, round(raw[0] * 0.1, 1), "V")
    elif name == "lorawan_class":
        out.point(name, {0: "A", 1: "B", 2: "C"}.get(raw[0], f"unknown ({raw[0]})"))
    else:
        out.point(name, raw[0] == 1)
    return True


def encode(command: str, value: object) -> Downlink:
    if command == "switch":
        if isinstance(value, dict):
            if not value:
                raise EncodeError("switch needs at least one relay")
            wanted = {int_in_range(int(str(k)) if str(k).isdigit() else k, 1, 2, "relay"): on_off(v)
                      for k, v in value.items()}
        else:
            wanted = dict.fromkeys((1, 2), on_off(value))
        payload = b"".join(bytes([0xFF, 0x96 if relay == 1 else 0x99, int(state)])
                           for relay, state in sorted(wanted.items()))
        return Downlink(_CONFIG_PORT, payload)
    if command == "reboot":
        return Downlink(_CONFIG_PORT, bytes([0xFF, 0x0A, 0x01]))
    raise EncodeError(f"unknown command '{command}'")
