"""Milesight EM400-UDL ultrasonic distance sensor for bins and tanks (fPort 85, Milesight channel/type/value, LE).

From Milesight's EM400-UDL README and decoder (Milesight-IoT/SensorDecoders em-series/em400-udl, GPL-3.0; facts
only, no code copied). Channels: 01 75 battery %; 03 67 temperature int16 / 10 degC; 04 82 distance mm u16;
05 00 position (0 normal, 1 tilt); 83 67 temperature + alarm byte; 84 82 distance + alarm byte (0 released,
1 threshold alarm). FF xx device attributes (versions, serial, class, reset, power on) and
FE/FF xx replies to configuration commands (the intervals are decoded; the others, whose lengths the vendor
decoder gives, are skipped by name). 06 88 (location) exists only on the NB-IoT variant, never on LoRaWAN.
Downlinks: FF 03 <u16 s> report interval, FF 02 <u16 s> collection interval (60-64800 s).

Departures from the vendor decoder: a channel it does not know stops it silently; here the channels read so far
are kept and the rest of the frame is listed in ``skipped``.
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
    fill_percent,
    int_in_range,
)

MODEL = "Milesight EM400-UDL"
DOMAIN = "waste"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {
    "set_interval": "reporting interval in seconds (60-64800)",
    "set_collection_interval": "measuring interval in seconds (60-64800)",
}

_CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}
# FF attribute channels: type -> (point, length)
_ATTRIBUTES = {0x01: ("ipso_version", 1), 0x09: ("hardware_version", 2), 0x0A: ("firmware_version", 2),
               0xFF: ("tsl_version", 2), 0x16: ("serial_number", 8), 0x0F: ("lorawan_class", 1),
               0xFE: ("device_reset", 1), 0x0B: ("device_status", 1)}
# FE/FF replies to configuration commands: type -> (setting, length); the two intervals become points
_SETTINGS = {0x02: ("collection_interval", 2), 0x03: ("report_interval", 2), 0x06: ("alarm_config", 9),
             0x10: ("reboot", 1), 0x13: ("install_height_enable", 1), 0x1C: ("recollection_config", 2),
             0x28: ("query_device_status", 1), 0x3E: ("tilt_linkage_distance_enable", 1), 0x4A: ("sync_time", 1),
             0x56: ("tof_detection_enable", 1), 0x70: ("people_existing_height", 2), 0x71: ("working_mode", 1)}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    distance: int | None = None
    tilted = False
    while reader.remaining:
        start = reader.pos
        channel, kind = reader.u8(), reader.u8()
        if (channel, kind) == (0x01, 0x75):
            _percent(out, "battery", reader.u8())
        elif (channel, kind) in ((0x03, 0x67), (0x83, 0x67)):
            out.point("temperature", reader.i16(little=True) / 10, "°C")
            if channel == 0x83:
                out.alarm("temperature_threshold", reader.u8() == 1)
        elif (channel, kind) in ((0x04, 0x82), (0x84, 0x82)):
            distance = reader.u16(little=True)
            out.point("distance", distance, "mm")
            if channel == 0x84:
                out.alarm("distance_threshold", reader.u8() == 1)
        elif (channel, kind) == (0x05, 0x00):
            tilted = reader.u8() == 1
            out.point("position", "tilt" if tilted else "normal")
            out.alarm("tilt", tilted)
        elif channel == 0xFF and kind in _ATTRIBUTES:
            name, length = _ATTRIBUTES[kind]
            _attribute(out, name, reader.take(length))
        elif channel in (0xFE, 0xFF) and kind in _SETTINGS:
            _setting(out, channel, kind, reader)
        else:
            out.skip(f"{channel:02x} {kind:02x} at offset {start} and the {len(data) - start - 2} byte(s) after it "
                     "(unknown channel, length unknown)")
            break
    if distance is not None and not tilted:
        fill = fill_percent(distance, options)
        if fill is not None:
            out.point("fill_level", fill, "%")
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
    if command == "set_interval":
        seconds = int_in_range(value, 60, 64800, "interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
    if command == "set_collection_interval":
        seconds = int_in_range(value, 60, 64800, "collection interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x02]) + seconds.to_bytes(2, "little"))
    raise EncodeError(f"unknown command '{command}'")
