"""IMBUILDINGS LoRaWAN People Counter: infrared beam, counters A and B (big-endian).

Layout (IMBUILDINGS' payload description and decoders, TTN vendor/imbuildings imbuildings.js and the newer
imbuildings-decoder.js): a frame with the IMBUILDINGS header starts [0] payload type (2 = people counter), [1]
variant, [2..9] device id; on the variant's own fPort the header is left out. Variant 6 (fPort 26), 13 bytes:
[0] device status, [1..2] battery V * 100, [3..4] counter A since the last uplink, [5..6] counter B, [7] sensor status,
[8..9] total A, [10..11] total B, [12] payload counter. Variant 7 (fPort 27), 5 bytes: sensor status, total A,
total B. Variant 8 (fPort 28, heartbeat), 4 bytes: device status, battery, sensor status. fPort 10: the reply to a
configuration downlink, F1 01 then records [length (whole record)][setting][value].

Where this departs from the vendor's decoders: a payload that matches no documented layout is a decode error (they
return an empty object); an unknown setting in a configuration reply is skipped by its length and listed, the
others kept.
"""

from __future__ import annotations

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Reader,
    check_fport,
)

MODEL = "IMBUILDINGS People Counter"
DOMAIN = "mobility"
UPLINK_FPORTS = frozenset({1, 10, 26, 27, 28})
_PEOPLE_COUNTER = 2
_HEADER = 10
_BODY_LENGTHS = {6: 13, 7: 5, 8: 4}  # variant -> bytes after the header
_PORT_VARIANTS = {26: 6, 27: 7, 28: 8}
_REPLY = bytes([0xF1, 0x01])


def decode(f_port: int, data: bytes, options: CodecOptions) -> Decoded:
    check_fport(f_port, UPLINK_FPORTS)
    out = DecodedBuilder()
    if f_port == 10:
        _configuration(Reader(data), out)
        return out.build()
    reader = Reader(data)
    variant = _header_variant(data)
    if variant is not None:
        reader.take(_HEADER)
    elif f_port in _PORT_VARIANTS:
        variant = _PORT_VARIANTS[f_port]
        if len(data) != _BODY_LENGTHS[variant]:
            raise DecodeError(f"a variant-{variant} frame on fPort {f_port} is {_BODY_LENGTHS[variant]} bytes, not"
                              f" {len(data)}" + (": payload too short" if len(data) < _BODY_LENGTHS[variant] else ""))
    else:
        described = f"payload type {data[0]} variant {data[1]}" if len(data) >= 2 else "a payload"
        raise DecodeError(f"{described} of {len(data)} bytes is not a people counter frame (type 2, variants 6-8,"
                          " with the 10-byte header on fPort 1 or without it on fPorts 26-28)")
    _body(variant, reader, out)
    reader.end()
    return out.build()


def _header_variant(data: bytes) -> int | None:
    """The variant of a frame carrying the IMBUILDINGS header, or None."""
    if len(data) < 2 or data[0] != _PEOPLE_COUNTER:
        return None
    length = _BODY_LENGTHS.get(data[1])
    return data[1] if length is not None and len(data) == _HEADER + length else None


def _body(variant: int, reader: Reader, out: DecodedBuilder) -> None:
    if variant == 7:
        out.point("sensor_status", reader.u8())
        out.point("total_a", reader.u16())
        out.point("total_b", reader.u16())
        return
    out.point("device_status", reader.u8())
    out.point("battery_voltage", reader.u16() / 100, "V")
    if variant == 8:
        out.point("sensor_status", reader.u8())
        return
    out.point("count_a", reader.u16())
    out.point("count_b", reader.u16())
    out.point("sensor_status", reader.u8())
    out.point("total_a", reader.u16())
    out.point("total_b", reader.u16())
    out.point("payload_counter", reader.u8())


def _configuration(reader: Reader, out: DecodedBuilder) -> None:
    if reader.take(2) != _REPLY:
        raise DecodeError("a configuration reply on fPort 10 starts with F1 01")
    while reader.remaining:
        start = reader.pos
        length = reader.u8()
        if length < 2:
            raise DecodeError(f"configuration record at offset {start} has length {length} (at least 2)")
        record = Reader(reader.take(length - 1))
        setting = record.u8()
        if not _setting(setting, record, out):
            out.skip(f"configuration setting 0x{setting:02x} ({length} bytes) at offset {start}")


def _setting(setting: int, record: Reader, out: DecodedBuilder) -> bool:
    if setting == 0x02:
        out.point("config.device_id", record.take(8).hex())
    elif setting in (0x1E, 0x21):
        out.point("config.interval" if setting == 0x1E else "config.heartbeat_interval", record.u8(), "min")
    elif setting == 0x1F:
        out.point("config.event_type", record.u8())
        out.point("config.event_count", record.u8())
        out.point("config.event_timeout", record.u8())
    elif setting in (0x20, 0x22):
        prefix = "config.payload" if setting == 0x20 else "config.heartbeat_payload"
        out.point(f"{prefix}_type", record.u8())
        out.point(f"{prefix}_variant", record.u8())
        out.point(f"{prefix}_header", record.u8() == 0x01)
    elif setting == 0x2B:
        out.point("config.device_address", record.take(4).hex())
    elif setting == 0x2F:
        out.point("config.confirmed_uplinks", bool(record.u8()))
    elif setting in (0x33, 0x36):
        out.point("config.fport" if setting == 0x33 else "config.heartbeat_fport", record.u8())
    else:
        return False
    return True
