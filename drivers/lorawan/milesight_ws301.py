"""Milesight WS301 magnetic door/window contact with tamper detection, for cabinets (fPort 85, Milesight TLV).

From Milesight's WS301 README and decoder (Milesight-IoT/SensorDecoders ws-series/ws301, GPL-3.0; facts only, no
code copied). Channels: 01 75 battery %; 03 00 contact (0 closed, 1 open) -> point ``door`` and alarm
``door_open``; 04 00 installation (0 installed, 1 removed from its base) -> alarm ``tamper``. FF xx device
attributes (serial number FF 08, six bytes) and FE/FF xx replies to configuration commands.
Downlink: FF 03 <u16 s> report interval (60-64800 s).

The README's example labels ``04 00 01`` "installed" although its own table and the decoder say 1 is
"uninstalled"; the table is followed. An unknown channel stops the decoding but keeps what came before it.
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

MODEL = "Milesight WS301"
DOMAIN = "security"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {"set_interval": "reporting interval in seconds (60-64800)"}

_CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}
_ATTRIBUTES = {0x01: ("ipso_version", 1), 0x09: ("hardware_version", 2), 0x0A: ("firmware_version", 2),
               0xFF: ("tsl_version", 2), 0x08: ("serial_number", 6), 0x0F: ("lorawan_class", 1),
               0xFE: ("device_reset", 1), 0x0B: ("device_status", 1)}
_SETTINGS = {0x03: ("report_interval", 2), 0x10: ("reboot", 1), 0x28: ("query_device_status", 1)}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    while reader.remaining:
        start = reader.pos
        channel, kind = reader.u8(), reader.u8()
        if (channel, kind) == (0x01, 0x75):
            _percent(out, "battery", reader.u8())
        elif (channel, kind) == (0x03, 0x00):
            opened = reader.u8() == 1
            out.point("door", "open" if opened else "closed")
            out.alarm("door_open", opened)
        elif (channel, kind) == (0x04, 0x00):
            out.alarm("tamper", reader.u8() == 1)
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
        seconds = int_in_range(value, 60, 64800, "interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
    raise EncodeError(f"unknown command '{command}'")
