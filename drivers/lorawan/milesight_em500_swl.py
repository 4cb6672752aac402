"""Milesight EM500-SWL submersible water level sensor for rivers, tanks and wells (fPort 85, Milesight TLV, LE).

From Milesight's EM500-SWL README and decoder (Milesight-IoT/SensorDecoders em-series/em500-swl, GPL-3.0; facts
only, no code copied). Channels: 01 75 battery %; 03 77 water depth u16 cm, 0xFFFF = the reading failed, 0xFFFD =
out of the probe's range; 20 ce history record (time u32 + depth u16); FF 1B probe description (rate + range,
5 bytes). FF xx device attributes and FE/FF xx replies to configuration commands.
Downlinks: FF 03 <u16 s> report interval, FF 02 <u16 s> collection interval (60-64800 s).

The depth is given in millimetres (the device's centimetres x 10). A failed or out-of-range reading is a point of
bad quality that says which, never a number. Departures from the vendor decoder: an unknown channel stops the
decoding but keeps what came before it (listed in ``skipped``); history records are skipped rather than reported
as current.
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

MODEL = "Milesight EM500-SWL"
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
_SETTINGS = {0x02: ("collection_interval", 2), 0x03: ("report_interval", 2), 0x06: ("depth_alarm_config", 9),
             0x10: ("reboot", 1), 0x11: ("timestamp", 4), 0x17: ("time_zone", 2), 0x1C: ("recollection_config", 2),
             0x27: ("clear_history", 1), 0x28: ("report_status", 1), 0x35: ("d2d_key", 8),
             0x3B: ("time_sync_enable", 1), 0x4A: ("sync_time", 1), 0x68: ("history_enable", 1),
             0x69: ("retransmit_enable", 1), 0x6A: ("retransmit_interval_config", 3), 0x84: ("d2d_enable", 1),
             0x96: ("d2d_master_config", 8), 0xF1: ("depth_calibration", 4), 0xF2: ("alarm_report_counts", 2),
             0xF5: ("alarm_release_enable", 1)}
_DEPTH_ERRORS = {0xFFFF: "the probe's reading failed", 0xFFFD: "the water depth is out of the probe's range"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    while reader.remaining:
        start = reader.pos
        channel, kind = reader.u8(), reader.u8()
        if (channel, kind) == (0x01, 0x75):
            _percent(out, "battery", reader.u8())
        elif (channel, kind) == (0x03, 0x77):
            depth = reader.u16(little=True)
            if depth in _DEPTH_ERRORS:
                out.bad("water_depth", f"water_depth: {_DEPTH_ERRORS[depth]} (0x{depth:04x})", "mm")
            else:
                out.point("water_depth", depth * 10, "mm")
        elif (channel, kind) == (0x20, 0xCE):
            reader.take(6)
            out.skip("20 ce history record (past readings)")
        elif (channel, kind) == (0xFF, 0x1B):
            reader.take(5)
            out.skip("ff 1b probe description (rate and range)")
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
    if command == "set_collection_interval":
        seconds = int_in_range(value, 60, 64800, "collection interval (seconds)")
        return Downlink(85, bytes([0xFF, 0x02]) + seconds.to_bytes(2, "little"))
    raise EncodeError(f"unknown command '{command}'")
