"""Bosch Parking Lot Sensor (PLS, TPS110), in-ground magnetic parking occupancy sensor (fPorts 1-6).

From Bosch's codec in the TTN device repository for firmware 0.29 (vendor/bosch/tpl110-0292.js with
tps110-0292-codec.yaml; facts only, no code copied) and Bosch's "PLS Communication Interface - Technical
Description" (v0.29.4) it implements. fPort 1 parking status: bit 0 of [0] occupied. fPort 2 heartbeat: bit 0 of
[0] occupied, optional [1] temperature int8 degC. fPort 3 start-up: three debug codes (12-bit, little-endian, in
the first two bytes of each of three 4-byte slots; 0 = none), firmware version [12].[13].[14], reset cause [15]
(1 watchdog, 2 power on, 3 system request, 4 other), occupied bit 0 of [16]. fPort 4 device information and
fPort 5 device usage: the vendor's codec passes their bytes through without a layout, so they are skipped here.
fPort 6 debug: device time u32 LE [0..3], debug code 12-bit [4..5], sequence number u16 [8..9].

Departures from the vendor codec: it reads nothing past the end of a short frame and invents values; here a
truncated frame is a decode error. The sequence number of a debug frame is read little-endian like its other
fields (the vendor's codec assembles it big-endian, which the document does not support).
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    Reader,
    check_fport,
)

MODEL = "Bosch Parking Lot Sensor (TPS110)"
DOMAIN = "mobility"
UPLINK_FPORTS = frozenset({1, 2, 3, 4, 5, 6})
_RESET_CAUSES = {1: "watchdog", 2: "power on", 3: "system request", 4: "other"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    if f_port in (1, 2):
        out.point("occupied", bool(reader.u8() & 0x01))
        if f_port == 2 and reader.remaining:
            out.point("temperature", reader.i8(), "°C")
        reader.end()
    elif f_port == 3:
        _startup(reader, out)
    elif f_port in (4, 5):
        reader.take(reader.remaining)
        out.skip(f"fPort {f_port} {'device information' if f_port == 4 else 'device usage'} "
                 "(no published layout)")
    else:
        out.point("device_time", reader.u32(little=True), "s")
        out.point("debug_code", reader.u16(little=True) & 0x0FFF)
        reader.take(2)
        out.point("sequence_number", reader.u16(little=True))
    return out.build()


def _startup(reader: Reader, out: DecodedBuilder) -> None:
    codes = []
    for _ in range(3):
        code = reader.u16(little=True) & 0x0FFF
        reader.take(2)
        if code:
            codes.append(str(code))
    out.point("debug_codes", ",".join(codes))
    out.point("firmware_version", ".".join(str(reader.u8()) for _ in range(3)))
    cause = reader.u8()
    out.point("reset_cause", _RESET_CAUSES.get(cause, f"unknown ({cause})"))
    out.point("occupied", bool(reader.u8() & 0x01))
    reader.end()
