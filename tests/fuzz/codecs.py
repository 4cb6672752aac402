"""Fuzz target: one uplink payload through one shipped LoRaWAN codec (Python or table), the codec called raw,
without the wrapper that turns a codec's bug into a DecodeError. The promise (drivers/lorawan/README.md): a
``Decoded`` or a ``DecodeError``, nothing else; a point without a value only with BAD quality, a percentage within
0-100, every past reading the same.

The first byte picks the codec (in the order of ``names()``), the second the fPort: an even byte one of the
codec's own uplink ports, an odd byte that byte as it is; the rest is the payload.
"""

from __future__ import annotations

from functools import cache

from edge_agent.lorawan.codec_api import CodecOptions, Decoded, DecodeError, Point, Quality, sanitized
from edge_agent.lorawan.codecs import PayloadCodec, default_registry

OPTIONS = CodecOptions(d_empty_mm=2000, d_full_mm=250, sensor_offset_mm=50)


@cache
def shipped() -> tuple[PayloadCodec, ...]:
    registry = default_registry()
    return tuple(registry.get(name) for name in registry.names())


def names() -> list[str]:
    return [codec.name for codec in shipped()]


def pick(head: bytes) -> tuple[PayloadCodec, int]:
    """The codec and fPort the first two bytes stand for."""
    codecs = shipped()
    codec = codecs[(head[0] if head else 0) % len(codecs)]
    port_byte = head[1] if len(head) > 1 else 0
    if port_byte % 2:
        return codec, port_byte
    ports = sorted(codec.uplink_fports) or [port_byte]
    return codec, ports[port_byte // 2 % len(ports)]


def header(name: str, f_port: int | None = None) -> bytes:
    """The two bytes that pick this codec and either its first own port (None) or an odd fPort."""
    assert f_port is None or f_port % 2, "an even fPort byte picks one of the codec's own ports"
    return bytes([names().index(name), 0 if f_port is None else f_port])


def target(data: bytes) -> None:
    codec, f_port = pick(data[:2])
    raw = codec._decode
    assert raw is not None
    try:
        decoded = raw(f_port, data[2:], OPTIONS)
    except DecodeError:
        return
    assert isinstance(decoded, Decoded), f"{codec.name} returned {type(decoded).__name__}"
    for point in (*decoded.points, *(p for past in decoded.history for p in past.points)):
        check_point(codec.name, point)
    sanitized(decoded)


def check_point(codec: str, point: Point) -> None:
    if point.value is None:
        assert point.quality is Quality.BAD, f"{codec}: {point} has no value yet is not BAD"
        return
    assert isinstance(point.value, bool | int | float | str), f"{codec}: {point}"
    if point.unit == "%" and isinstance(point.value, int | float) and point.quality is Quality.GOOD:
        assert 0 <= point.value <= 100, f"{codec}: {point} is a percentage outside 0-100"
