"""Milesight EM300-ZLD zone leak (flood) detection sensor with temperature and humidity (fPort 85, Milesight TLV).

From Milesight's EM300-ZLD README and decoder (Milesight-IoT/SensorDecoders em-series/em300-zld, GPL-3.0; facts
only, no code copied). The EM300-SLD (spot leak) sends the same frames. Channels: 01 75 battery %; 03 67
temperature int16 / 10 degC; 04 68 humidity u8 / 2 %; 05 00 leak (0 normal, 1 leak), stored as the alarm
``leak``; 20 ce history record (time u32 + temperature + humidity + leak, 8 bytes). FF xx device attributes and
FE/FF xx replies to configuration commands. Downlinks: FF 03 <u16 s> report interval, FF 02 <u16 s> collection
interval (1-64800 s).

Departures from the vendor decoder: an unknown channel stops the decoding but keeps what came before it (listed in
``skipped``); history records are skipped rather than reported as current.
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

MODEL = "Milesight EM300-ZLD"
DOMAIN = "water"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {
    "set_interval": "reporting interval in seconds (1-64800)",
    "set_collection_interval": "measuring interval in seconds (1-64800)",
}

_CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}
_ATTRIBUTES = {0x01: ("ipso_version", 1), 0x09: ("hardware_version", 2), 0x0A: ("firmware_version", 2),
               0xFF: ("tsl_version", 2), 0x16: ("serial_number", 8), 0x0F: ("lorawan_class", 1),
               0xFE: ("device_reset", 1), 0x0B: ("device_status", 1)}
_SETTINGS = {0x02: ("collection_interval", 2), 0x03: ("report_interval", 2), 0x06: ("alarm_config", 9),
             0x10: ("reboot", 1), 0x27: ("clear_history", 1), 0x28: ("report_status", 1),
             0x68: ("history_enable", 1), 0x69: ("retransmit_enable", 1), 0x6A: ("retransmit_interval_config", 3),
             0x6D: ("stop_transmit", 1), 0x79: ("d2d_master_config", 6), 0xEA: ("calibration", 3)}


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
            out.alarm("leak", reader.u8() == 1)
        elif (channel, kind) == (0x20, 0xCE):
            reader.take(8)
            out.skip("20 ce history record (past readings)")
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
    if command == "set_interval":
        seconds = int_in_range(value, 1, 64800, "interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
    if command == "set_collection_interval":
        seconds = int_in_range(value, 1, 64800, "collection interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x02]) + seconds.to_bytes(2, "little"))
    raise EncodeError(f"unknown command '{command}'")
