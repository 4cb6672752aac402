"""Elvexys LEM-302 four-circuit current and voltage monitor for lighting cabinets (big-endian, fixed frames).

From Elvexys' codec and its field descriptions (Elvexys/lorawan-codec LEM-302/generic-lem-302.js and README.md at
commit 0418495b; facts only, no code copied). It watches up to four circuits (phases 1-3 and a fourth), so a
tripped or failed lighting circuit shows as a current that drops or jumps. fPort 34 cyclic data, 24 bytes: per
circuit 1-4 the average current over the period u16 (0.1 A), the largest current u16 (0.1 A) and the average
voltage u16 (0.1 V). fPort 33 over-current alarm, 9 bytes: a bit per circuit in alarm (bit 0 = circuit 1), then
each circuit's current when the alarm fired u16 (0.1 A). fPort 35 system message, 19 bytes: format version,
firmware major.minor.patch, temperature int16 (0.1 degC), humidity u8 (0.5 %), uptime u16 h, over-current
thresholds of circuits 1-3 and of circuit 4 u16 A, measurement window u8 ms, cyclic period u16 min, system message
ratio u8, link-check ratio u8, link-check attempts u8.
Downlink on fPort 35, 11 bytes: format 01, then the same settings in that order (thresholds u16, window u8,
period u16, three ratios u8), zero for a setting left unchanged.

Departure from the vendor encoder: it turns each setting into hexadecimal digits and reads them back as a decimal
number (15 minutes, "f", becomes NaN; 100 A, "64", becomes 64); here the numbers are sent as big-endian integers,
the way the device reports the same settings in its system message.
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

MODEL = "Elvexys LEM-302"
DOMAIN = "lighting"
UPLINK_FPORTS = frozenset({33, 34, 35})
COMMANDS = {
    "set_interval": "cyclic message period in seconds (whole minutes, 1-65535 min)",
    "set_overcurrent_threshold": "over-current threshold of circuits 1-3 in A (1-65535)",
}
_LENGTHS = {33: 9, 34: 24, 35: 19}
_DOWN_PORT = 35


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    if len(data) != _LENGTHS[f_port]:
        raise DecodeError(f"a {len(data)}-byte payload does not match the {_LENGTHS[f_port]}-byte fPort {f_port} frame")
    reader = Reader(data)
    out = DecodedBuilder()
    if f_port == 34:
        for circuit in range(1, 5):
            out.point(f"current_avg_{circuit}", reader.u16() / 10, "A")
            out.point(f"current_max_{circuit}", reader.u16() / 10, "A")
            out.point(f"voltage_{circuit}", reader.u16() / 10, "V")
    elif f_port == 33:
        bits = reader.u8()
        for circuit in range(1, 5):
            out.alarm(f"overcurrent_{circuit}", bool(bits >> (circuit - 1) & 1))
            out.point(f"alarm_current_{circuit}", reader.u16() / 10, "A")
    else:
        _system(reader, out)
    return out.build()


def _system(reader: Reader, out: DecodedBuilder) -> None:
    reader.u8()  # payload format version
    out.point("firmware_version", ".".join(str(reader.u8()) for _ in range(3)))
    out.point("temperature", reader.i16() / 10, "°C")
    humidity = reader.u8() / 2
    if humidity <= 100:
        out.point("humidity", humidity, "%")
    else:
        out.bad("humidity", f"humidity: the device sent {humidity} %, above 100 %", "%")
    out.point("uptime", reader.u16(), "h")
    out.point("overcurrent_threshold_1_3", reader.u16(), "A")
    out.point("overcurrent_threshold_4", reader.u16(), "A")
    out.point("measurement_window", reader.u8(), "ms")
    out.point("report_interval", reader.u16() * 60, "s")
    out.point("system_message_ratio", reader.u8())
    out.point("link_check_ratio", reader.u8())
    out.point("link_check_attempts", reader.u8())


def encode(command: str, value: object) -> Downlink:
    settings = bytearray(11)
    settings[0] = 0x01
    if command == "set_interval":
        seconds = int_in_range(value, 60, 65535 * 60, "interval (seconds)")
        if seconds % 60:
            raise EncodeError("the LEM-302 period is set in whole minutes (a multiple of 60 s)")
        settings[6:8] = (seconds // 60).to_bytes(2, "big")
    elif command == "set_overcurrent_threshold":
        settings[1:3] = int_in_range(value, 1, 65535, "over-current threshold (A)").to_bytes(2, "big")
    else:
        raise EncodeError(f"unknown command '{command}'")
    return Downlink(_DOWN_PORT, bytes(settings))
