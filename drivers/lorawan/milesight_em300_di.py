"""Milesight EM300-DI pulse counter for water, gas and electricity meters (fPort 85, Milesight TLV, little-endian).

From Milesight's EM300-DI README and decoder (Milesight-IoT/SensorDecoders em-series/em300-di, GPL-3.0; facts
only, no code copied). Channels: 01 75 battery %; 03 67 temperature int16 / 10 degC; 04 68 humidity u8 / 2 %;
05 00 digital input (0 low, 1 high); 05 c8 pulse count u32; 05 e1 water (v1.3+): conversion u16 / 10, pulses
u16 / 10, volume float32 in the configured unit; 85 00 input + alarm byte (1 alarm, 0 released); 85 e1 water +
alarm byte (1/2 water outage timeout alarm/released, 3/4 water flow timeout alarm/released); 20 ce and 21 ce
history records (13 and 18 bytes). FF xx device attributes and FE/FF xx replies to configuration commands.
Downlinks: FF 03 <u16 s> report interval, FF 02 <u16 s> collection interval (60-64800 s).

Departures from the vendor decoder: its reply to "sync time" (FF 4A) forgets to step over its byte; here it is
one byte, as the vendor's encoder sends it. A channel it does not know stops it silently; here the channels read
so far are kept and the rest is listed in ``skipped``. History records (past readings with their own timestamp)
are skipped rather than reported as current. A water volume that is not a finite number is a bad point.
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
)

MODEL = "Milesight EM300-DI"
DOMAIN = "water"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {
    "set_interval": "reporting interval in seconds (60-64800)",
    "set_collection_interval": "measuring interval in seconds (60-64800)",
}

_CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}
_ATTRIBUTES = {0x01: ("ipso_version", 1), 0x09: ("hardware_version", 2), 0x0A: ("firmware_version", 2),
               0xFF: ("tsl_version", 2), 0x16: ("serial_number", 8), 0x0F: ("lorawan_class", 1),
               0xFE: ("device_reset", 1), 0x0B: ("device_status", 1)}
_SETTINGS = {0x02: ("collection_interval", 2), 0x03: ("report_interval", 2), 0x06: ("temperature_alarm_config", 9),
             0x10: ("reboot", 1), 0x17: ("time_zone", 2), 0x27: ("clear_history", 1), 0x28: ("report_status", 1),
             0x35: ("d2d_key", 8), 0x4A: ("sync_time", 1), 0x4E: ("counter_control", 2), 0x68: ("history_enable", 1),
             0x69: ("retransmit_enable", 1), 0x6A: ("retransmit_interval_config", 3), 0x79: ("d2d_master_config", 4),
             0x92: ("counter_value", 5), 0xA1: ("water_alarm_config", 7), 0xA2: ("pulse_conversion_config", 9),
             0xA3: ("pulse_filter_enable", 2), 0xA4: ("water_flow_determination", 2), 0xC3: ("gpio_mode", 1)}
_HISTORY_LENGTHS = {0x20: 13, 0x21: 18}
_WATER_ALARMS = {1: ("water_outage_timeout", True), 2: ("water_outage_timeout", False),
                 3: ("water_flow_timeout", True), 4: ("water_flow_timeout", False)}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    while reader.remaining:
        start = reader.pos
        channel, kind = reader.u8(), reader.u8()
        if (channel, kind) == (0x01, 0x75):
            _percent(out, "battery", reader.u8())
        elif (channel, kind) == (0x03, 0x67):
            out.point("temperature", reader.i16(little=True) / 10, "°C")
        elif (channel, kind) == (0x04, 0x68):
            _percent(out, "humidity", reader.u8() / 2)
        elif (channel, kind) in ((0x05, 0x00), (0x85, 0x00)):
            out.point("digital_input", reader.u8() == 1)
            if channel == 0x85:
                out.alarm("digital_input", reader.u8() == 1)
        elif (channel, kind) == (0x05, 0xC8):
            out.point("pulse_count", reader.u32(little=True))
        elif (channel, kind) in ((0x05, 0xE1), (0x85, 0xE1)):
            reader.take(4)  # conversion factor (water units per pulses): configuration, not a measurement
            out.point("water_volume", reader.f32(little=True))
            if channel == 0x85:
                _water_alarm(out, reader.u8())
        elif channel in _HISTORY_LENGTHS and kind == 0xCE:
            reader.take(_HISTORY_LENGTHS[channel])
            out.skip(f"{channel:02x} ce history record (past readings)")
        elif channel == 0xFF and kind in _ATTRIBUTES:
            name, length = _ATTRIBUTES[kind]
            _attribute(out, name, reader.take(length))
        elif channel in (0xFE, 0xFF) and kind in _SETTINGS:
            _setting(out, channel, kind, reader)
        else:
            out.skip(f"{channel:02x} {kind:02x} at offset {start} and the {len(data) - start - 2} byte(s) after it "
                     "(unknown channel, length unknown)")
            break
    return out.build()


def _water_alarm(out: DecodedBuilder, code: int) -> None:
    if code in _WATER_ALARMS:
        name, raised = _WATER_ALARMS[code]
        out.alarm(name, raised)
    else:
        out.skip(f"85 e1 water alarm code {code}")


def _percent(out: DecodedBuilder, name: str, value: float) -> None:
    """A percentage the device sent; above 100 it cannot be trusted."""
    if value > 100:
        out.bad(name, f"{name}: the device sent {value} %, above 100 %", "%")
        return
    out.point(name, value, "%")
    if name == "battery":
        out.battery(value)


def _attribute(out: DecodedBuilder, name: str, raw: bytes) -> None:
    if name == "lorawan_class":
        out.point(name, _CLASSES.get(raw[0], str(raw[0])))
    elif name in ("device_reset", "device_status"):
        out.point(name, True)
    elif name == "serial_number":
        out.point(name, raw.hex())
    elif name == "ipso_version":
        out.point(name, f"v{raw[0] >> 4}.{raw[0] & 0x0F}")
    elif name == "hardware_version":
        out.point(name, f"v{raw[0]:x}.{raw[1] >> 4}")
    elif name == "firmware_version":
        out.point(name, f"v{raw[0]:x}.{raw[1]:x}")
    else:
        out.point(name, f"v{raw[0]}.{raw[1]}")


def _setting(out: DecodedBuilder, channel: int, kind: int, reader: Reader) -> None:
    name, length = _SETTINGS[kind]
    raw = reader.take(length)
    if name.endswith("_interval") and length == 2:
        out.point(name, int.from_bytes(raw, "little"), "s")
    else:
        out.skip(f"{channel:02x} {kind:02x} reply: {name} ({length} byte(s))")


def encode(command: str, value: object) -> Downlink:
    if command == "set_interval":
        seconds = int_in_range(value, 60, 64800, "interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
    if command == "set_collection_interval":
        seconds = int_in_range(value, 60, 64800, "collection interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x02]) + seconds.to_bytes(2, "little"))
    raise EncodeError(f"unknown command '{command}'")
