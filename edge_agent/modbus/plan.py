"""Read plans: points merged into as few requests as possible, then requests' answers decoded. Pure.

Points of one table are sorted by address and merged while the hole between them is at most ``max_gap``
registers (bits for coils and discrete inputs) and the request stays within the protocol limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from edge_agent.errors import DecodeError
from edge_agent.modbus.datatypes import RegisterCodec, decode
from edge_agent.modbus.profile import BIT_TABLES, PointSpec, Profile, Table
from edge_agent.reading import Quality

MAX_REGISTERS = 125
MAX_BITS = 2000
TABLE_ORDER: tuple[Table, ...] = ("coil", "discrete", "holding", "input")


@dataclass(frozen=True, slots=True)
class PlannedPoint:
    spec: PointSpec
    codec: RegisterCodec


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One request: ``count`` registers or bits of ``table`` from ``start``, feeding ``points``."""

    table: Table
    start: int
    count: int
    points: tuple[PlannedPoint, ...]


@dataclass(frozen=True, slots=True)
class DecodedPoint:
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
            blocks.append(ReadBlock(table, start, end - start, tuple(current)))
        current, start, end = [item], item.spec.address, item_end
    if current:
        blocks.append(ReadBlock(table, start, end - start, tuple(current)))
    return blocks


def decode_block(block: ReadBlock, values: Sequence[int] | Sequence[bool]) -> list[DecodedPoint]:
    """Every point of ``block`` from the registers (or bits) the device returned."""
    decoded = []
    for item in block.points:
        first = item.spec.address - block.start
        chunk = values[first : first + item.codec.width]
        decoded.append(decode_point(item.spec, item.codec, chunk))
    return decoded


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
