"""Milesight AM307 indoor air-quality sensor (temperature, humidity, motion, light, CO2, TVOC, pressure), fPort 85.

From Milesight's AM307 README and decoder (Milesight-IoT/SensorDecoders am-series/am307, GPL-3.0; facts only, no
code copied). Suited to the CO2 monitoring French schools and public buildings must carry out. Channels, little-
endian: 01 75 battery %; 03 67 temperature int16 / 10 degC; 04 68 humidity u8 / 2 %; 05 00 motion (0 idle,
1 triggered); 06 cb light level u8 (0-5 scale); 07 7d CO2 u16 ppm; 08 7d TVOC u16 / 100 (IAQ index) or 08 e6 TVOC
u16 ug/m3; 09 73 pressure u16 / 10 hPa; 0e 01 buzzer (0 off, 1 on); 20 ce and 21 ce history records (16 bytes).
FF xx device attributes and FE/FF xx replies to configuration commands (FF 1A, CO2 calibration, is 1 byte, or 3
when its mode byte is 2). Downlink: FF 03 <u16 s> report interval.

An unknown channel stops the decoding but keeps what came before it (listed in ``skipped``); history records are
skipped rather than reported as current.
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

MODEL = "Milesight AM307"
DOMAIN = "environment"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {"set_interval": "reporting interval in seconds (60-64800)"}

_CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}
_ATTRIBUTES = {0x01: ("ipso_version", 1), 0x09: ("hardware_version", 2), 0x0A: ("firmware_version", 2),
               0xFF: ("tsl_version", 2), 0x16: ("serial_number", 8), 0x0F: ("lorawan_class", 1),
               0xFE: ("device_reset", 1), 0x0B: ("device_status", 1)}
_SETTINGS = {0x03: ("report_interval", 2), 0x10: ("reboot", 1), 0x17: ("time_zone", 2), 0x25: ("child_lock", 1),
             0x27: ("clear_history", 1), 0x2C: ("query_status", 1), 0x2D: ("screen_display_enable", 1),
             0x2E: ("led_indicator_mode", 1), 0xEB: ("tvoc_unit", 1), 0x39: ("co2_abc_calibration", 5),
             0x3A: ("report_interval", 2), 0x3B: ("time_sync_enable", 1), 0x3C: ("screen_display_pattern", 1),
             0x3D: ("stop_buzzer", 1), 0x3E: ("buzzer_enable", 1), 0x66: ("screen_display_alarm_enable", 1),
             0x68: ("history_enable", 1), 0x69: ("retransmit_enable", 1), 0x6A: ("retransmit_interval_config", 3),
             0x6D: ("stop_transmit", 1), 0xF0: ("screen_display_elements", 4), 0xF4: ("co2_calibration_enable", 1)}


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
        elif (channel, kind) == (0x05, 0x00):
            out.point("motion", reader.u8() == 1)
        elif (channel, kind) == (0x06, 0xCB):
            out.point("light_level", reader.u8())
        elif (channel, kind) == (0x07, 0x7D):
            out.point("co2", reader.u16(little=True), "ppm")
        elif (channel, kind) == (0x08, 0x7D):
            out.point("tvoc_index", reader.u16(little=True) / 100)
        elif (channel, kind) == (0x08, 0xE6):
            out.point("tvoc", reader.u16(little=True), "µg/m³")
        elif (channel, kind) == (0x09, 0x73):
            out.point("pressure", reader.u16(little=True) / 10, "hPa")
        elif (channel, kind) == (0x0E, 0x01):
            out.point("buzzer", reader.u8() == 1)
        elif channel in (0x20, 0x21) and kind == 0xCE:
            reader.take(16)
            out.skip(f"{channel:02x} ce history record (past readings)")
        elif (channel, kind) in ((0xFE, 0x1A), (0xFF, 0x1A)):
            reader.take(2 if reader.u8() == 2 else 0)
            out.skip(f"{channel:02x} 1a reply: co2_calibration")
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
    if command != "set_interval":
        raise EncodeError(f"unknown command '{command}'")
    seconds = int_in_range(value, 60, 64800, "interval (seconds)")
    return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
