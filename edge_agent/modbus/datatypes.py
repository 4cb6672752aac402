"""Register contents to values and back: pure, no I/O, no pymodbus.

A point's raw value sits in one or more 16-bit registers. ``word_order`` says which register holds the most
significant word; ``byte_order`` says which byte of each register comes first. Values are then
``raw * scale + offset``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Literal

from edge_agent.errors import DecodeError, WriteRejected
from edge_agent.frozen import frozen

DataType = Literal["bool", "bit", "u16", "s16", "u32", "s32", "u64", "s64", "f32", "f64", "string"]
Order = Literal["big", "little"]

_WIDTH = {"u16": 1, "s16": 1, "bit": 1, "u32": 2, "s32": 2, "f32": 2, "u64": 4, "s64": 4, "f64": 4}
_STRUCT = {"u16": "H", "s16": "h", "u32": "I", "s32": "i", "u64": "Q", "s64": "q", "f32": "f", "f64": "d"}
NUMERIC = frozenset(_STRUCT)
INTEGER = frozenset({"u16", "s16", "u32", "s32", "u64", "s64"})


@frozen(slots=True)
class RegisterCodec:
    """How one point's registers turn into a value. ``length`` is in registers (strings only)."""

    type: DataType
    word_order: Order = "big"
    byte_order: Order = "big"
    scale: float = 1.0
    offset: float = 0.0
    bit: int = 0
    length: int = 1

    @property
    def width(self) -> int:
        """Registers (or bits, for ``bool``) the point occupies."""
        if self.type == "string":
            return self.length
        if self.type == "bool":
            return 1
        return _WIDTH[self.type]

    @property
    def scaled(self) -> bool:
        return self.scale != 1.0 or self.offset != 0.0


def _to_bytes(words: Sequence[int], codec: RegisterCodec) -> bytes:
    ordered = list(words) if codec.word_order == "big" else list(reversed(words))
    fmt = ">" if codec.byte_order == "big" else "<"
    return b"".join(struct.pack(f"{fmt}H", word) for word in ordered)


def _from_bytes(data: bytes, codec: RegisterCodec) -> list[int]:
    fmt = ">" if codec.byte_order == "big" else "<"
    words = [struct.unpack(f"{fmt}H", data[i : i + 2])[0] for i in range(0, len(data), 2)]
    return words if codec.word_order == "big" else list(reversed(words))


def decode(words: Sequence[int] | Sequence[bool], codec: RegisterCodec) -> float | int | bool | str:
    """Decode the registers (or the single bit) of one point. Raises DecodeError on a wrong length."""
    if len(words) != codec.width:
        raise DecodeError(f"{codec.type} needs {codec.width} registers, got {len(words)}")
    if codec.type == "bool":
        return bool(words[0])
    if any(not 0 <= int(word) <= 0xFFFF for word in words):
        raise DecodeError(f"register value out of 0..65535 in {list(words)}")
    if codec.type == "bit":
        return bool((int(words[0]) >> codec.bit) & 1)
    data = _to_bytes([int(word) for word in words], codec)
    if codec.type == "string":
        return data.split(b"\x00", 1)[0].decode("latin-1").rstrip()
    raw: int | float = struct.unpack(f">{_STRUCT[codec.type]}", data)[0]
    return apply_scale(raw, codec)


def apply_scale(raw: int | float, codec: RegisterCodec) -> int | float:
    if not codec.scaled:
        return raw
    value = raw * codec.scale + codec.offset
    if not math.isfinite(value):
        return value
    return round(value, scale_digits(codec.scale))


def scale_digits(scale: float) -> int:
    """Decimals kept of a scaled value: 2312 x 0.1 is 231.20000000000002 in binary floating point, so one digit
    more than the scale has."""
    return max(0, math.ceil(-math.log10(abs(scale)))) + 1


def encode(value: float | int | bool | str, codec: RegisterCodec) -> list[int]:
    """The registers (or single bit as 0/1) that hold ``value``. Raises WriteRejected if it does not fit."""
    if codec.type in {"bool", "bit"}:
        if not isinstance(value, bool | int) or int(value) not in (0, 1):
            raise WriteRejected(f"{value!r} is not a boolean")
        return [int(value)]
    if codec.type == "string":
        data = str(value).encode("latin-1")
        if len(data) > 2 * codec.length:
            raise WriteRejected(f"'{value}' is longer than {2 * codec.length} characters")
        return _from_bytes(data.ljust(2 * codec.length, b"\x00"), codec)
    if isinstance(value, str):
        raise WriteRejected(f"{value!r} is not a number")
    raw = unscale(value, codec)
    try:
        data = struct.pack(f">{_STRUCT[codec.type]}", raw)
    except (struct.error, OverflowError) as exc:
        raise WriteRejected(f"{value!r} does not fit in {codec.type}") from exc
    return _from_bytes(data, codec)


def unscale(value: float | int, codec: RegisterCodec) -> int | float:
    if isinstance(value, int) and not codec.scaled:
        return value if codec.type in INTEGER else float(value)  # exact: a float has only 53 bits
    raw = (value - codec.offset) / codec.scale
    if codec.type in INTEGER:
        if not math.isfinite(raw):
            raise WriteRejected(f"{value!r} is not a finite number")
        return round(raw)
    return raw
