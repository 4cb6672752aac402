"""Milesight WS302 sound level (noise) sensor (fPort 85, Milesight channel/type/value, little-endian).

From Milesight's WS302 README and decoder (Milesight-IoT/SensorDecoders ws-series/ws302, GPL-3.0; facts only, no
code copied). Channels: 01 75 battery %; 05 5b sound level: weighting byte (bits 0-1 frequency weighting 0 Z,
1 A, 2 C; bits 2-3 time weighting 0 impulse, 1 fast, 2 slow) + level u16 / 10 dB + equivalent level Leq u16 / 10
+ maximum u16 / 10. FF xx device attributes and FE/FF xx replies to configuration commands. The vendor documents
no reporting-interval command for this model (only reboot, time, weighting and LED settings), so none is offered.

Points: ``sound_level``, ``sound_level_eq``, ``sound_level_max`` in dB, with ``frequency_weighting`` (Z, A, C)
and ``time_weighting`` (I, F, S) saying how they were measured (the vendor names them LAF, LAeq, LAFmax...).
A weighting code the vendor does not list makes the levels uncertain. An unknown channel stops the decoding but
keeps what came before it.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    Quality,
    Reader,
    check_fport,
)

MODEL = "Milesight WS302"
DOMAIN = "environment"
UPLINK_FPORTS = frozenset({85})

_CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}
_ATTRIBUTES = {0x01: ("ipso_version", 1), 0x09: ("hardware_version", 2), 0x0A: ("firmware_version", 2),
               0xFF: ("tsl_version", 2), 0x16: ("serial_number", 8), 0x0F: ("lorawan_class", 1),
               0xFE: ("device_reset", 1), 0x0B: ("device_status", 1)}
_SETTINGS = {0x10: ("reboot", 1), 0x11: ("timestamp", 4), 0x17: ("time_zone", 2), 0x1D: ("weighting_type", 2),
             0x2D: ("led_indicator_enable", 1), 0x3B: ("time_sync_enable", 1)}
_FREQUENCY = {0: "Z", 1: "A", 2: "C"}
_TIME = {0: "I", 1: "F", 2: "S"}


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    reader = Reader(data)
    out = DecodedBuilder()
    while reader.remaining:
        start = reader.pos
        channel, kind = reader.u8(), reader.u8()
        if (channel, kind) == (0x01, 0x75):
            _percent(out, "battery", reader.u8())
        elif (channel, kind) == (0x05, 0x5B):
            _sound(out, reader)
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


def _sound(out: DecodedBuilder, reader: Reader) -> None:
    weighting = reader.u8()
    frequency, time = _FREQUENCY.get(weighting & 0x03), _TIME.get(weighting >> 2 & 0x03)
    quality, note = Quality.GOOD, None
    if frequency is None or time is None:
        quality, note = Quality.UNCERTAIN, f"sound levels: unknown weighting code 0x{weighting:02x}"
    else:
        out.point("frequency_weighting", frequency)
        out.point("time_weighting", time)
    for name in ("sound_level", "sound_level_eq", "sound_level_max"):
        out.point(name, reader.u16(little=True) / 10, "dB", quality=quality, note=note)


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
