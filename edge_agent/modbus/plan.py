"""Read plans: points merged into as few requests as possible, then requests' answers decoded. Pure.

Points of one table are sorted by address and merged while the hole between them is at most ``max_gap``
registers (bits for coils and discrete inputs) and the request stays within the protocol limit.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import NamedTuple

from edge_agent.errors import DecodeError
from edge_agent.frozen import frozen
from edge_agent.modbus.datatypes import RegisterCodec, decode, scale_digits
from edge_agent.modbus.profile import BIT_TABLES, PointSpec, Profile, Table
from edge_agent.reading import Quality, Value

MAX_REGISTERS = 125
MAX_BITS = 2000
TABLE_ORDER: tuple[Table, ...] = ("coil", "discrete", "holding", "input")


@frozen(slots=True)
class PlannedPoint:
    spec: PointSpec
    codec: RegisterCodec


_GOOD, _UNCERTAIN, _BAD = Quality.GOOD, Quality.UNCERTAIN, Quality.BAD

FastDecode = Callable[[Sequence[int] | Sequence[bool]], tuple[Value, Quality]]


class Step(NamedTuple):
    """One point of a block, ready to decode: where its registers are in the answer and how to read them."""

    first: int
    end: int
    decode: FastDecode
    name: str
    unit: str | None
    item: PlannedPoint


@frozen(slots=True)
class ReadBlock:
    """One request: ``count`` registers or bits of ``table`` from ``start``, feeding ``points``.

    ``steps`` are the points' decoders compiled once with the plan (see ``compile_point``)."""

    table: Table
    start: int
    count: int
    points: tuple[PlannedPoint, ...]
    steps: tuple[Step, ...] = field(default=(), compare=False, repr=False)


def make_block(table: Table, start: int, count: int, points: tuple[PlannedPoint, ...]) -> ReadBlock:
    steps = tuple(Step(item.spec.address - start, item.spec.address - start + item.codec.width,
                       compile_point(item.spec, item.codec), item.spec.name, item.spec.unit, item)
                  for item in points)
    return ReadBlock(table, start, count, points, steps)


class DecodedPoint(NamedTuple):
    point: PointSpec
    value: float | int | bool | str | None
    quality: Quality


def build_plan(profile: Profile, max_gap: int = 10, points: Sequence[str] | None = None) -> list[ReadBlock]:
    """The requests that read every point of ``profile`` (or only ``points``)."""
    wanted = [p for p in profile.points if points is None or p.name in points]
    blocks: list[ReadBlock] = []
    for table in TABLE_ORDER:
        planned = sorted(
            (PlannedPoint(p, profile.codec(p)) for p in wanted if p.table == table),
            key=lambda item: (item.spec.address, item.codec.width),
        )
        blocks.extend(_merge(table, planned, max_gap))
    return blocks


def _merge(table: Table, planned: list[PlannedPoint], max_gap: int) -> list[ReadBlock]:
    limit = MAX_BITS if table in BIT_TABLES else MAX_REGISTERS
    blocks: list[ReadBlock] = []
    current: list[PlannedPoint] = []
    start = end = 0
    for item in planned:
        item_end = item.spec.address + item.codec.width
        fits = bool(current) and item.spec.address - end <= max_gap and max(end, item_end) - start <= limit
        if fits:
            current.append(item)
            end = max(end, item_end)
            continue
        if current:
            blocks.append(make_block(table, start, end - start, tuple(current)))
        current, start, end = [item], item.spec.address, item_end
    if current:
        blocks.append(make_block(table, start, end - start, tuple(current)))
    return blocks


def decode_block(block: ReadBlock, values: Sequence[int] | Sequence[bool]) -> list[DecodedPoint]:
    """Every point of ``block`` from the registers (or bits) the device returned."""
    steps = block.steps or make_block(block.table, block.start, block.count, block.points).steps
    return [DecodedPoint(step.item.spec, *step.decode(values[step.first:step.end])) for step in steps]


def compile_point(spec: PointSpec, codec: RegisterCodec) -> FastDecode:
    """``decode_point`` for one point, specialised once: the common types (bits, integers and floats of big-endian
    registers, in either word order) without the general path's checks and lookups at each poll. Anything else,
    and any value the fast path cannot take, goes through ``decode_point``; both give the same value and quality."""

    def general(chunk: Sequence[int] | Sequence[bool]) -> tuple[Value, Quality]:
        decoded = decode_point(spec, codec, chunk)
        return decoded.value, decoded.quality

    if codec.type == "bool":
        def bit(chunk: Sequence[int] | Sequence[bool]) -> tuple[Value, Quality]:
            if len(chunk) != 1:
                return general(chunk)
            return bool(chunk[0]), _GOOD
        return bit
    if codec.type == "bit":
        shift = codec.bit

        def flag(chunk: Sequence[int] | Sequence[bool]) -> tuple[Value, Quality]:
            if len(chunk) != 1 or not 0 <= chunk[0] <= 0xFFFF:
                return general(chunk)
            return bool((int(chunk[0]) >> shift) & 1), _GOOD
        return flag
    unpack = _UNPACKERS.get(codec.type)
    if unpack is None or codec.byte_order != "big":
        return general
    pack = _PACKERS[codec.width]
    width = codec.width
    reverse = codec.word_order != "big" and width > 1  # least significant word first: the registers reversed
    scale, offset, scaled = codec.scale, codec.offset, codec.scaled
    digits = scale_digits(codec.scale) if scaled else 0
    low, high = spec.valid_min, spec.valid_max
    checked = low is not None or high is not None
    isfinite = math.isfinite

    def fast(chunk: Sequence[int] | Sequence[bool]) -> tuple[Value, Quality]:
        if len(chunk) != width:
            return general(chunk)
        try:
            raw: float = unpack(pack(*(chunk[::-1] if reverse else chunk)))[0]
        except struct.error:  # a register outside 0..65535
            return general(chunk)
        value = raw
        if scaled:
            value = raw * scale + offset
        if not isfinite(value):
            return None, _BAD
        if scaled:
            value = round(value, digits)
        if checked and ((low is not None and value < low) or (high is not None and value > high)):
            return value, _UNCERTAIN
        return value, _GOOD

    return fast


_FORMATS = {"u16": "H", "s16": "h", "u32": "I", "s32": "i", "u64": "Q", "s64": "q", "f32": "f", "f64": "d"}
_UNPACKERS = {kind: struct.Struct(f">{code}").unpack for kind, code in _FORMATS.items()}
_PACKERS = {width: struct.Struct(f">{width}H").pack for width in (1, 2, 4)}


def decode_point(spec: PointSpec, codec: RegisterCodec, chunk: Sequence[int] | Sequence[bool]) -> DecodedPoint:
    """One point's value with its quality: BAD when undecodable or not finite, UNCERTAIN out of range."""
    try:
        value = decode(chunk, codec)
    except DecodeError:
        return DecodedPoint(spec, None, Quality.BAD)
    if isinstance(value, float) and not math.isfinite(value):
        return DecodedPoint(spec, None, Quality.BAD)
    if isinstance(value, int | float) and not isinstance(value, bool) and _out_of_range(spec, value):
        return DecodedPoint(spec, value, Quality.UNCERTAIN)
    return DecodedPoint(spec, value, Quality.GOOD)


def _out_of_range(spec: PointSpec, value: float) -> bool:
    low = spec.valid_min
    high = spec.valid_max
    return (low is not None and value < low) or (high is not None and value > high)


def naive_request_count(profile: Profile) -> int:
    """Requests a poller issuing one read per point would make (the benchmark's yardstick)."""
    return len(profile.points)
