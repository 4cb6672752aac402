"""Runs a declarative codec (``edge_agent.lorawan.table_spec``): payload bytes in, ``Decoded`` out. Pure.

The codec policy holds here as in every Python codec: a channel whose id is unknown ends the reading of the
frame but keeps what was read before it (its length is unknown, so nothing after it can be trusted), and so does
a skipped channel whose type byte gives no known length (``length_by``); a repeated channel keeps its last value,
said once; a sentinel the table names (``invalid``) gives a BAD point with the reason; a value outside
``valid_min``/``valid_max`` an UNCERTAIN one (BAD with ``out_of_range: bad``); a float that is not finite a BAD
one; an unnamed value of a field that ``describes`` the others makes them UNCERTAIN.
"""

from __future__ import annotations

import math
import struct

from edge_agent.lorawan.codec_api import (
    CodecOptions,
    Decoded,
    DecodedBuilder,
    DecodeError,
    Downlink,
    EncodeError,
    Quality,
    Reader,
    check_fport,
    fill_percent,
    int_in_range,
)
from edge_agent.lorawan.table_spec import (
    FLOAT_SIZES,
    INT_SIZES,
    Block,
    ByteOrder,
    Channel,
    FieldSpec,
    Frame,
    TableCodecSpec,
    hex_bytes,
)

Raw = int | float | str | bool


class TableCodec:
    """A checked table codec, ready to decode and encode."""

    def __init__(self, spec: TableCodecSpec) -> None:
        self.spec = spec
        self.uplink_fports = frozenset(spec.uplink_fports)
        self._channel_tables = {frame.name: {cid: ch for ch in frame.channels for cid in ch.ids()}
                                for frame in spec.frames if frame.layout == "channels"}
        self._blocks = {frame.name: frame.block() for frame in spec.frames if frame.layout == "fixed"}

    def decode(self, f_port: int, data: bytes, options: CodecOptions) -> Decoded:
        check_fport(f_port, self.uplink_fports)
        frame = self._frame(f_port, data)
        reader = Reader(data)
        reader.take(frame.skip)
        out = DecodedBuilder()
        if frame.layout == "fixed":
            block = self._blocks[frame.name]
            self._block(block, reader.take(min(reader.remaining, block.size())), out)
            if frame.trailing == "error":
                reader.end()
        else:
            self._channels(frame, reader, out)
        self._fill_level(out, options)
        return out.build()

    def _frame(self, f_port: int, data: bytes) -> Frame:
        for frame in self.spec.frames:
            if f_port in (frame.fports or self.spec.uplink_fports) and frame.match.accepts(data):
                return frame
        names = ", ".join(f.name for f in self.spec.frames if f_port in (f.fports or self.spec.uplink_fports))
        raise DecodeError(f"this {len(data)}-byte payload on fPort {f_port} does not match any frame of"
                          f" {self.spec.model} (frames: {names or 'none'})")

    def _channels(self, frame: Frame, reader: Reader, out: DecodedBuilder) -> None:
        table = self._channel_tables[frame.name]
        while reader.remaining:
            start = reader.pos
            channel_id = reader.take(frame.id_size)
            channel = table.get(channel_id)
            size = None if channel is None else _size(channel, reader)
            if channel is None or size is None:
                reader.pos = start
                what = "unknown channel" if channel is None else "channel of an unknown record type"
                out.stop_at_unknown(f"{what} {channel_id.hex(' ')}", reader)
                return
            chunk = reader.take(size)
            if channel.skip is not None:
                out.skip(f"channel {channel_id.hex(' ')} at offset {start} ({len(chunk)} bytes): {channel.skip}")
            elif channel.history:
                self._history(channel, chunk, out)
            else:
                self._block(channel, chunk, out)

    def _history(self, channel: Channel, chunk: bytes, out: DecodedBuilder) -> None:
        """A history record: its values are past readings dated by its 'time' field, never current points."""
        record = DecodedBuilder()
        self._block(channel, chunk, record)
        read = record.build()
        time = next(p for p in read.points if p.name == "time")
        for note in read.notes:
            out.note(note)
        if not isinstance(time.value, int) or isinstance(time.value, bool):
            out.skip(f"history record {chunk.hex()}: its time cannot be read, its values are not kept")
            return
        for point in read.points:
            if point is not time:
                out.past(time.value, point.name, point.value, point.unit, quality=point.quality)
        for name, raised in read.alarms.items():
            out.past(time.value, f"alarm.{name}", raised)

    def _block(self, block: Block, chunk: bytes, out: DecodedBuilder) -> None:
        read: list[tuple[FieldSpec, Raw]] = []
        for start, spec in block.layout():
            if start + spec.width > len(chunk):
                raise DecodeError(f"payload too short: {spec.name or spec.alarm} needs bytes {start}-"
                                  f"{start + spec.width - 1} of a {len(chunk)}-byte block")
            read.append((spec, _raw(spec, chunk[start:start + spec.width], spec.byte_order or self.spec.byte_order)))
        raws = {spec.name: raw for spec, raw in read if spec.name}
        read = [(spec, raw) for spec, raw in read
                if not spec.when or all(raws.get(other) in values for other, values in spec.when.items())]
        unnamed = [f"{spec.name} {raw}" for spec, raw in read if spec.describes and not _named(spec, raw)]
        doubt = (f"{', '.join(unnamed)}: no name in the codec's table, so the values measured with it are uncertain"
                 if unnamed else None)
        for spec, raw in read:
            if spec.alarm is not None:
                _alarm(spec, spec.alarm, raw, out)
            elif not (spec.describes and doubt):
                assert spec.name is not None
                _point(spec, spec.name, raw, out, doubt)

    def _fill_level(self, out: DecodedBuilder, options: CodecOptions) -> None:
        rule = self.spec.fill_level
        if rule is None:
            return
        decoded = out.build()
        distance = next((p for p in decoded.points if p.name == rule.from_point), None)
        if distance is None or distance.quality is not Quality.GOOD or not isinstance(distance.value, int | float):
            return
        if rule.unless_alarm is not None and decoded.alarms.get(rule.unless_alarm):
            return
        fill = fill_percent(float(distance.value), options)
        if fill is not None:
            out.point("fill_level", fill, "%")

    def encode(self, command: str, value: object) -> Downlink:
        spec = self.spec.commands.get(command)
        if spec is None:
            raise EncodeError(f"unknown command '{command}'")
        data = hex_bytes(spec.bytes, "command bytes")
        if spec.value is not None:
            arg = spec.value
            number = int_in_range(value, arg.min, arg.max, command)
            if number % arg.divide_by:
                said = f" ({spec.description})" if spec.description else ""
                raise EncodeError(f"{command} must be a multiple of {arg.divide_by}, got {number}{said}")
            size = INT_SIZES[arg.type]
            data += (number // arg.divide_by).to_bytes(size, arg.byte_order or self.spec.byte_order)
        if spec.suffix:
            data += hex_bytes(spec.suffix, "command suffix")
        return Downlink(spec.f_port, data)


def _size(channel: Channel, reader: Reader) -> int | None:
    """Bytes of the channel after its id; None when its type byte (``length_by``) names no known length."""
    if channel.length_by is None:
        return channel.size()
    start = reader.pos
    ahead = reader.take(min(reader.remaining, channel.length_by.byte + 1))
    reader.pos = start
    return channel.length_by.length(ahead, channel.length)


def _named(spec: FieldSpec, raw: Raw) -> bool:
    return spec.enum is not None and isinstance(raw, int) and raw in spec.enum


def _raw(spec: FieldSpec, chunk: bytes, order: ByteOrder) -> Raw:
    kind = spec.type
    if kind in INT_SIZES:
        number = int.from_bytes(chunk, order, signed=kind.startswith("i"))
        if spec.bits is not None:
            low, high = spec.bit_range()
            number = (number >> low) & ((1 << (high - low + 1)) - 1)
        return number
    if kind in FLOAT_SIZES:
        code = "f" if kind == "f32" else "d"
        value: float = struct.unpack(("<" if order == "little" else ">") + code, chunk)[0]
        return value
    if kind == "hex":
        return chunk.hex()
    if kind == "ascii":
        return chunk.decode("ascii", errors="replace").rstrip("\x00 ")
    if kind == "version":
        return _version(spec.format, chunk)
    assert spec.value is not None
    return spec.value


def _version(pattern: str | None, chunk: bytes) -> str:
    if pattern is None:
        return ".".join(str(byte) for byte in chunk)
    names: dict[str, int] = {}
    for index, byte in enumerate(chunk):
        names[f"b{index}"], names[f"h{index}"], names[f"l{index}"] = byte, byte >> 4, byte & 0x0F
    return pattern.format(**names)


def _alarm(spec: FieldSpec, name: str, raw: Raw, out: DecodedBuilder) -> None:
    if isinstance(raw, int) and raw in spec.invalid:
        out.skip(f"alarm {name}: {spec.invalid[raw]} (raw {raw}), flag not set")
        return
    if spec.released_when is not None and spec.raised_when is not None:
        if raw in spec.raised_when or raw in spec.released_when:
            out.alarm(name, raw in spec.raised_when)
        else:
            out.note(f"alarm {name}: raw value {raw} neither raises nor releases it, flag not set")
    elif spec.raised_when is not None:
        out.alarm(name, raw in spec.raised_when)
    else:
        out.alarm(name, bool(raw))


def _point(spec: FieldSpec, name: str, raw: Raw, out: DecodedBuilder, doubt: str | None = None) -> None:
    """One point from its raw value; ``doubt`` (a field describing this one is unnamed) makes it UNCERTAIN."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in spec.invalid:
        out.bad(name, f"{name}: {spec.invalid[raw]} (raw value {raw})", spec.unit)
        return
    quality = Quality.UNCERTAIN if doubt else Quality.GOOD
    if spec.enum is not None and isinstance(raw, int):
        if raw not in spec.enum:
            out.point(name, f"unknown_{raw}", quality=Quality.UNCERTAIN,
                      note=f"{name}: raw value {raw} has no name in the codec's table")
        else:
            out.point(name, spec.enum[raw], spec.unit, quality=quality, note=doubt)
        return
    if spec.as_bool:
        out.point(name, bool(raw), quality=quality, note=doubt)
        return
    if isinstance(raw, str | bool) or spec.type == "const":
        out.point(name, raw, spec.unit, quality=quality, note=doubt)
        return
    value = _scaled(spec, raw)
    if isinstance(value, float) and not math.isfinite(value):
        out.point(name, value, spec.unit)  # the builder turns it into a BAD point with the reason
        return
    low, high = spec.valid_min, spec.valid_max
    if (low is not None and value < low) or (high is not None and value > high):
        reason = f"{name}: {value} is outside the device's range [{low}, {high}]"
        if spec.out_of_range == "bad":
            out.bad(name, reason, spec.unit)
            return
        out.point(name, value, spec.unit, quality=Quality.UNCERTAIN, note=reason)
    else:
        out.point(name, value, spec.unit, quality=quality, note=doubt)
    if spec.battery:
        out.battery(float(value))


def _scaled(spec: FieldSpec, raw: int | float) -> int | float:
    if isinstance(raw, int) and float(spec.scale).is_integer() and float(spec.add).is_integer():
        return raw * int(spec.scale) + int(spec.add)  # a whole number stays a whole number
    value = raw * spec.scale + spec.add
    if spec.round is not None and math.isfinite(value):
        value = round(value, spec.round)
    return value
