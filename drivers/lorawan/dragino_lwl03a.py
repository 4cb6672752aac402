"""Dragino LWL03A water-leak (flood) sensor with leak counting and a data log (fPorts 2-5, big-endian).

From Dragino's LWL03A decoder (dragino/dragino-end-node-decoder LWL03A/LWL03A_v1.0TTN.txt at commit e81cc58a;
facts only, no code copied) and the LWL03A user manual's payload tables. fPort 2, status, 11 bytes: [0] bit 2
periodic (not event) uplink, bit 1 alarm (a leak lasted longer than the configured time), bit 0 water present;
[1..3] leaks counted u24; [4..6] duration of the last leak u24 minutes; [7..10] device time u32 (Unix s).
fPort 3, data log: a whole number of such 11-byte records, past readings sent on request. fPort 4, configuration:
[0..2] interval u24 s, [3] bit 0 alarm disabled, [4] bit 0 the state to hold, [5..6] hold time u16, [7] leak alarm
time u8 (minutes). fPort 5, device status: [0] model (0x14), [1..2] firmware, [3] frequency band, [4] sub-band
(0xFF none), [5..6] battery mV. Downlink: 01 <u24 s> interval.

Data-log records carry their own times and are past readings: they are skipped (one entry per record), never
reported as current values.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Downlink,
    EncodeError,
    Reader,
    check_fport,
    int_in_range,
)

MODEL = "Dragino LWL03A"
DOMAIN = "water"
UPLINK_FPORTS = frozenset({2, 3, 4, 5})
COMMANDS = {"set_interval": "status interval in seconds (30-16777215)"}
_BANDS = {1: "EU868", 2: "US915", 3: "IN865", 4: "AU915", 5: "KZ865", 6: "RU864", 7: "AS923", 8: "AS923_1",
          9: "AS923_2", 10: "AS923_3", 11: "CN470", 12: "EU433", 13: "KR920", 14: "MA869"}
_LENGTHS = {2: 11, 4: 8, 5: 7}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    if f_port == 3:
        if not data or len(data) % 11:
            raise DecodeError(f"a data log is a whole number of 11-byte records; a {len(data)}-byte payload does "
                              "not match")
    elif len(data) != _LENGTHS[f_port]:
        raise DecodeError(f"a {len(data)}-byte payload does not match the {_LENGTHS[f_port]}-byte fPort {f_port} "
                          "frame")
    reader = Reader(data)
    out = DecodedBuilder()
    if f_port == 2:
        flags = reader.u8()
        out.point("periodic", bool(flags & 0x04))
        out.alarm("leak_too_long", bool(flags & 0x02))
        out.alarm("leak", bool(flags & 0x01))
        out.point("leak_count", int.from_bytes(reader.take(3), "big"))
        out.point("last_leak_duration", int.from_bytes(reader.take(3), "big") * 60, "s")
        out.point("device_time", reader.u32(), "s")
    elif f_port == 3:
        for index in range(len(data) // 11):
            reader.take(11)
            out.skip(f"data log record {index + 1} (past reading)")
    elif f_port == 4:
        out.point("report_interval", int.from_bytes(reader.take(3), "big"), "s")
        out.point("alarm_disabled", bool(reader.u8() & 0x01))
        out.point("hold_state", reader.u8() & 0x01)
        out.point("hold_time", reader.u16())
        out.point("leak_alarm_time", reader.u8() * 60, "s")
    else:
        _device_status(reader, out)
    return out.build()


def _device_status(reader: Reader, out: DecodedBuilder) -> None:
    model = reader.u8()
    out.point("sensor_model", "LWL03A" if model == 0x14 else f"unknown (0x{model:02x})")
    version = reader.u16()
    out.point("firmware_version", f"{version >> 8 & 0x0F}.{version >> 4 & 0x0F}.{version & 0x0F}")
    band = reader.u8()
    out.point("frequency_band", _BANDS.get(band, f"unknown ({band})"))
    sub_band = reader.u8()
    if sub_band != 0xFF:
        out.point("sub_band", sub_band)
    out.point("battery_voltage", reader.u16() / 1000, "V")


def encode(command: str, value: object) -> Downlink:
    if command != "set_interval":
        raise EncodeError(f"unknown command '{command}'")
    seconds = int_in_range(value, 30, 0xFFFFFF, "interval (seconds)")
    return Downlink(2, b"\x01" + seconds.to_bytes(3, "big"))
