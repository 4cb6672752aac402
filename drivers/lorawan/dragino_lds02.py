"""Dragino LDS02 magnetic door sensor, for cabinet and building doors (fPorts 10 and 7, big-endian).

From Dragino's LDS02 user manual (uplink and downlink payload tables) and Dragino's decoder
(dragino/dragino-end-node-decoder LDS02/LDS02_Decoder_1.8.2.txt; facts only, no code copied). The LDS02 shares its
firmware with the LWL02 water-leak sensor. fPort 10, 10 bytes: [0..1] bit 15 door open, bit 14 water leak, bits
0-13 battery mV; [2] mode (1 door counting, 2 leak counting, 3 no counting); [3..5] events counted u24 (door
openings or leaks); [6..8] duration of the last event u24 minutes; [9] bit 0 alarm (the door stayed open longer
than the configured timeout). fPort 7, 5 bytes (count-only mode): the status/battery word, then the count u24.
Downlinks: 01 <u24 s> keep-alive interval; A9 01 <u16 s> alarm when open longer than that, A9 00 00 00 off;
A6 01 clears the counters.

The TTN device repository's example for this model is a 7-byte frame that stops inside the counters; the vendor's
codec reads past its end and reports invented counts, while here it is a decode error.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Downlink,
    EncodeError,
    Quality,
    Reader,
    check_fport,
    int_in_range,
)

MODEL = "Dragino LDS02"
DOMAIN = "security"
UPLINK_FPORTS = frozenset({7, 10})
COMMANDS = {
    "set_interval": "keep-alive interval in seconds (30-16777215)",
    "set_open_alarm": "alarm when the door stays open longer than this many seconds (1-65535; 0 turns it off)",
    "clear_counters": "reset the open counter and the last open duration (no value)",
}
_MODES = {1: "door", 2: "leak", 3: "no counting"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    expected = 10 if f_port == 10 else 5
    if len(data) != expected:
        raise DecodeError(f"a {len(data)}-byte payload does not match the {expected}-byte fPort {f_port} frame")
    out = DecodedBuilder()
    status = reader.u16()
    out.point("battery_voltage", (status & 0x3FFF) / 1000, "V")
    opened = bool(status & 0x8000)
    out.point("door", "open" if opened else "closed")
    out.alarm("door_open", opened)
    if f_port == 7:
        out.point("open_count", int.from_bytes(reader.take(3), "big"))
        return out.build()
    out.alarm("leak", bool(status & 0x4000))
    mode = reader.u8()
    if mode in _MODES:
        out.point("counting_mode", _MODES[mode])
    else:
        out.point("counting_mode", f"unknown_{mode}", quality=Quality.UNCERTAIN,
                  note=f"counting_mode: mode {mode} is not documented (1 door, 2 leak, 3 no counting)")
    count, minutes = int.from_bytes(reader.take(3), "big"), int.from_bytes(reader.take(3), "big")
    if mode in (1, 2):
        event = "open" if mode == 1 else "leak"
        out.point(f"{event}_count", count)
        out.point(f"last_{event}_duration", minutes * 60, "s")
    out.alarm("open_too_long", bool(reader.u8() & 0x01))
    return out.build()


def encode(command: str, value: object) -> Downlink:
    if command == "set_interval":
        seconds = int_in_range(value, 30, 0xFFFFFF, "interval (seconds)")
        return Downlink(10, b"\x01" + seconds.to_bytes(3, "big"))
    if command == "set_open_alarm":
        seconds = int_in_range(value, 0, 0xFFFF, "open alarm timeout (seconds)")
        return Downlink(10, bytes([0xA9, 1 if seconds else 0]) + seconds.to_bytes(2, "big"))
    if command == "clear_counters":
        return Downlink(10, b"\xa6\x01")
    raise EncodeError(f"unknown command '{command}'")
