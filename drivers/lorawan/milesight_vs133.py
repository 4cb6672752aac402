"""Milesight VS133 / VS135 ToF people counter, four counting lines and four regions (fPort 85, Milesight TLV, LE).

From Milesight's VS133 README and decoder (Milesight-IoT/SensorDecoders vs-series/vs133, GPL-3.0; facts only, no
code copied). Per line n = 1..4: total in u32 (channels 03, 06, 09, 0c, type d2), total out u32 (04, 07, 0a, 0d,
type d2), in / out during the period u16 + u16 (05, 08, 0b, 0e, type cc); the same for a child node on channels
11..1c. 0f e3 (1d e3 child) people per region 4 x u8; 10 e4 (1e e4 child) dwell time: region u8 + average u16 +
maximum u16; 50 fc occlusion alarm: u8 + node u8 (0 master) + state u8 (1 triggered, 0 released); 20 ce history
record (time u32 + type u8 + 3 or 4 bytes). FF xx attributes (FF 1F firmware is four bytes), FE/FF and F8/F9
replies to configuration commands (F8 replies end with a result byte). Downlink: FF 03 <u16 s> report interval.

Departures from the vendor decoder: a history record of a type it does not know makes it loop on the same bytes;
here that record and the rest of the frame are listed in ``skipped`` and what came before is kept. History records
are skipped rather than reported as current. The dwell times have no unit (the vendor document names none).
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

MODEL = "Milesight VS133"
DOMAIN = "mobility"
UPLINK_FPORTS = frozenset({85})
COMMANDS = {"set_interval": "reporting interval in seconds (1-64800)"}

_ATTRIBUTES = {0x01: 1, 0x09: 2, 0x0A: 2, 0x1F: 4, 0x16: 8, 0xFF: 2, 0x0F: 1, 0xFE: 1, 0x0B: 1}
_SETTINGS = {0x03: ("report_interval", 2), 0x04: ("confirm_mode_enable", 1), 0x10: ("reboot", 1),
             0x11: ("timestamp", 4), 0x27: ("clear_history", 1), 0x40: ("adr_enable", 1), 0x42: ("wifi_enable", 1),
             0x43: ("periodic_report_enable", 1), 0x44: ("trigger_report_enable", 1), 0x51: ("clear_total_count", 1),
             0x68: ("history_enable", 1), 0x69: ("retransmit_enable", 1), 0x6A: ("retransmit_interval_config", 3),
             0x6D: ("stop_transmit", 1)}
_EXTENDED_SETTINGS = {0x84: 3, 0x85: 2, 0x86: 1, 0x87: 1, 0x88: 2}
_SHORT_HISTORY = frozenset({0x10, 0x20, 0x1E, 0x3C})
_HISTORY = frozenset(range(0x03, 0x1E)) | _SHORT_HISTORY


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


def _line_channel(channel: int) -> tuple[int, int] | None:
    """(line, role) of a line channel, master or child: role 0 total in, 1 total out, 2 period in/out."""
    for first in (0x03, 0x11):
        if first <= channel < first + 12:
            line, role = divmod(channel - first, 3)
            return line + 1, role
    return None


def _measurement(channel: int, kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    child = "_child" if 0x11 <= channel <= 0x1E else ""
    line = _line_channel(channel)
    if line is not None and kind == (0xCC if line[1] == 2 else 0xD2):
        number, role = line
        if role == 2:
            out.point(f"line_{number}{child}_period_in", reader.u16(little=True))
            out.point(f"line_{number}{child}_period_out", reader.u16(little=True))
        else:
            out.point(f"line_{number}{child}_total_{'in' if role == 0 else 'out'}", reader.u32(little=True))
    elif channel in (0x0F, 0x1D) and kind == 0xE3:
        for region in range(1, 5):
            out.point(f"region_{region}{child}_count", reader.u8())
    elif channel in (0x10, 0x1E) and kind == 0xE4:
        region = reader.u8()
        out.point(f"region_{region}{child}_avg_dwell", reader.u16(little=True))
        out.point(f"region_{region}{child}_max_dwell", reader.u16(little=True))
    elif (channel, kind) == (0x50, 0xFC):
        reader.u8()
        node = reader.u8()
        out.alarm(f"occlusion_{'master' if node == 0 else f'node_{node}'}", reader.u8() == 1)
    else:
        return False
    return True


def _other(channel: int, kind: int, reader: Reader, out: DecodedBuilder) -> bool:
    if (channel, kind) == (0x20, 0xCE):
        reader.take(4)
        record = reader.u8()
        if record not in _HISTORY:
            return False
        reader.take(3 if record in _SHORT_HISTORY else 4)
        out.skip(f"20 ce history record type {record:02x} (past readings)")
    elif channel == 0xFF and kind in _ATTRIBUTES:
        raw = reader.take(_ATTRIBUTES[kind])
        if kind in (0x09, 0x1F):
            out.point("hardware_version" if kind == 0x09 else "firmware_version", ".".join(str(b) for b in raw))
        elif kind == 0x16:
            out.point("serial_number", raw.hex())
        elif kind == 0x01:
            out.point("ipso_version", f"v{raw[0] >> 4}.{raw[0] & 0x0F}")
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
    seconds = int_in_range(value, 1, 64800, "interval (seconds)")
    return Downlink(85, bytes([0xFF, 0x03]) + seconds.to_bytes(2, "little"))
