"""Milesight VS121 AI people counter and occupancy sensor (fPort 85, Milesight TLV, little-endian unless said).

From Milesight's VS121 README and decoder (Milesight-IoT/SensorDecoders vs-series/vs121, GPL-3.0; facts only,
no code copied). Channels: 04 c9 people count u8 + region count u8 + occupied-region mask u16 big-endian (bit n =
region n+1); 05 cc people in / out since the last report u16 + u16; 06 cd maximum people u8; 07 d5 / 08 d5 people
per region 1-8 / 9-16 (8 x u8); 09..0c da flows from zone A..D to A..D (4 x u16); 0d cc total in / out u16 + u16;
0e e4 dwell time: region u8 + average u16 + maximum u16; 0f 85 device time u32 (Unix s); 10 f7 line in / out
u16 + u16; 20 ce history record (time u32 + type u8 + 1 to 5 bytes). FF xx attributes (FF 1F firmware is four
bytes), FE/FF and F8/F9 replies to configuration commands (F8 replies end with a result byte).
Downlink: FF 03 <u16 s> report interval (5-65535 s).

Departures from the vendor decoder: it reads people in/out of 05 cc as signed, so a count above 32767 comes out
negative; here they are unsigned, as in its history records. The dwell times are given without a unit (the
vendor document names none). History records are skipped rather than reported as current; an unknown channel
stops the decoding but keeps what came before it (listed in ``skipped``).
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

MODEL = "Milesight VS121"
DOMAIN = "mobility"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {"set_interval": "reporting interval in seconds (5-65535)"}

_ZONES = "abcd"
_ATTRIBUTES = {0x01: 1, 0x08: 6, 0x09: 2, 0x0A: 2, 0x1F: 4, 0xFF: 2, 0x0F: 1, 0xFE: 1, 0x0B: 1}
_SETTINGS = {0x03: ("report_interval", 2), 0x04: ("confirm_mode_enable", 1), 0x10: ("reboot", 1),
             0x35: ("d2d_key", 8), 0x40: ("adr_enable", 1), 0x43: ("report_regularly_enable", 1),
             0x44: ("people_count_change_report_enable", 1), 0x45: ("people_counting_report_mode", 1),
             0x46: ("people_count_jitter_config", 3), 0x48: ("line_detect_enable", 1),
             0x50: ("region_people_counting_enable", 1), 0x51: ("clear_cumulative_count", 1),
             0x84: ("d2d_enable", 1)}
_EXTENDED_SETTINGS = {0x10: 1, 0x11: 1, 0x3D: 1, 0x85: 2, 0x86: 1, 0x87: 1, 0x88: 1, 0x8B: 1, 0x8C: 1, 0x8D: 4,
                      0x8E: 4, 0x90: 6, 0x91: 5, 0x92: 3, 0x93: 1, 0x94: 1, 0x95: 6, 0x96: 3, 0x97: 2, 0x98: 1,
                      0x99: 7}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    while reader.remaining:
        start = reader.pos
        channel, kind = reader.u8(), reader.u8()
        if not _measurement(channel, kind, reader, out) and not _other(channel, kind, reader, out):
            out.skip(f"{channel:02x} {kind:02x} at offset {start} and the {len(data) - start - 2} byte(s) after it "
                     "(unknown channel, length unknown)")
            break
    return out.build()


def _measurement(channel: int, kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    if (channel, kind) == (0x04, 0xC9):
        out.point("people_count", reader.u8())
        regions, mask = reader.u8(), reader.u16()
        for index in range(min(regions, 16)):
            out.point(f"region_{index + 1}_occupied", bool(mask >> index & 1))
    elif (channel, kind) in ((0x05, 0xCC), (0x0D, 0xCC), (0x10, 0xF7)):
        prefix = {0x05: "people", 0x0D: "people_total", 0x10: "line"}[channel]
        out.point(f"{prefix}_in", reader.u16(little=True))
        out.point(f"{prefix}_out", reader.u16(little=True))
    elif (channel, kind) == (0x06, 0xCD):
        out.point("people_count_max", reader.u8())
    elif channel in (0x07, 0x08) and kind == 0xD5:
        first = 1 if channel == 0x07 else 9
        for region in range(first, first + 8):
            out.point(f"region_{region}_count", reader.u8())
    elif 0x09 <= channel <= 0x0C and kind == 0xDA:
        source = _ZONES[channel - 0x09]
        for target in _ZONES:
            out.point(f"flow_{source}_to_{target}", reader.u16(little=True))
    elif (channel, kind) == (0x0E, 0xE4):
        out.point("dwell_region", reader.u8())
        out.point("dwell_time_avg", reader.u16(little=True))
        out.point("dwell_time_max", reader.u16(little=True))
    elif (channel, kind) == (0x0F, 0x85):
        out.point("device_time", reader.u32(little=True), "s")
    else:
        return False
    return True


def _other(channel: int, kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    if (channel, kind) == (0x20, 0xCE):
        reader.take(4)
        record = reader.u8()
        reader.take(1 if record == 0x03 else 5 if record == 0x11 else 4)
        out.skip(f"20 ce history record type {record:02x} (past readings)")
    elif channel == 0xFF and kind in _ATTRIBUTES:
        raw = reader.take(_ATTRIBUTES[kind])
        if kind in (0x09, 0x1F):
            out.point("hardware_version" if kind == 0x09 else "firmware_version", ".".join(str(b) for b in raw))
        elif kind == 0x08:
            out.point("serial_number", raw.hex())
        elif kind == 0x01:
            out.point("protocol_version", raw[0])
        elif kind == 0x0F:
            out.point("lorawan_class", {0: "A", 1: "B", 2: "C", 3: "CtoB"}.get(raw[0], str(raw[0])))
        elif kind in (0xFE, 0x0B):
            out.point("device_reset" if kind == 0xFE else "device_status", True)
        else:
            out.point("firmware_version" if kind == 0x0A else "tsl_version", f"v{raw[0]:x}.{raw[1]:x}")
    elif channel in (0xFE, 0xFF) and kind in _SETTINGS:
        name, length = _SETTINGS[kind]
        raw = reader.take(length)
        if name == "report_interval":
            out.point(name, int.from_bytes(raw, "little"), "s")
        else:
            out.skip(f"{channel:02x} {kind:02x} reply: {name} ({length} byte(s))")
    elif channel in (0xF8, 0xF9) and kind in _EXTENDED_SETTINGS:
        reader.take(_EXTENDED_SETTINGS[kind] + (1 if channel == 0xF8 else 0))
        out.skip(f"{channel:02x} {kind:02x} reply to a configuration command")
    else:
        return False
    return True


def encode(command: str, value: object) -> Downlink:
    if command != "set_interval":
        raise EncodeError(f"unknown command '{command}'")
    seconds = int_in_range(value, 5, 65535, "interval (seconds)")
    return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
