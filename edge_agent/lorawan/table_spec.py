"""The declarative codec format: a device's frames as data (YAML), checked when it is read.

A table codec describes fixed layouts (fields at offsets) and channel streams (Milesight-style channel/type/value,
ELSYS-style type/value) with typed fields: integer or float types, byte order, bit ranges, scale, unit, value
maps, error sentinels and valid ranges, alarm flags. A channel stream may include named blocks of channels that
several devices share (``<name>.block.yaml``, e.g. a vendor's device-attribute channels). drivers/lorawan/README.md
documents the format; ``edge_agent.lorawan.table_codec`` runs it.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Literal

from edge_agent import resources
from edge_agent.config.base import BeforeValidator, Field, Model, ValidationError, field_validator, model_validator
from edge_agent.config.compiled import validate
from edge_agent.config.yaml_text import YamlError, read_yaml
from edge_agent.errors import ConfigError
from edge_agent.lorawan.codec_api import DOMAINS

ByteOrder = Literal["little", "big"]
FieldType = Literal["u8", "i8", "u16", "i16", "u24", "i24", "u32", "i32", "f32", "f64", "hex", "ascii", "version",
                    "const"]
INT_SIZES = {"u8": 1, "i8": 1, "u16": 2, "i16": 2, "u24": 3, "i24": 3, "u32": 4, "i32": 4}
FLOAT_SIZES = {"f32": 4, "f64": 8}
SIZED = ("hex", "ascii", "version")
_BITS = re.compile(r"^(\d{1,2})(?:-(\d{1,2}))?$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_VERSION_NAMES = re.compile(r"^[bhl]\d$")
_BLOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,62}$")
BLOCK_SUFFIX = ".block.yaml"
Scalar = bool | int | float | str


def hex_bytes(text: str, what: str) -> bytes:
    """``"ff 0b"`` -> b"\\xff\\x0b"; ValueError naming ``what`` otherwise."""
    compact = text.replace(" ", "")
    if not _HEX.match(compact):
        raise ValueError(f"{what} '{text}' is not hex bytes; write them as pairs of hex digits, e.g. \"ff 0b\"")
    return bytes.fromhex(compact)


class FieldSpec(Model):
    """One value read from a frame or a channel: a point, or an alarm flag."""

    name: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_.]{0,62}$", description="point name")
    alarm: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_.]{0,62}$", description="alarm flag name")
    type: FieldType = "u8"
    offset: int | None = Field(None, ge=0, le=255, description="bytes from the start of its frame or channel")
    size: int | None = Field(None, ge=1, le=64, description="bytes of a hex, ascii or version field")
    byte_order: ByteOrder | None = None
    bits: str | None = Field(None, description="bit or bit range of an integer, e.g. '7' or '0-2'")
    scale: float = 1.0
    add: float = 0.0
    round: int | None = Field(None, ge=0, le=9, description="decimals kept after scaling")
    unit: str | None = None
    enum: dict[int, Scalar] | None = Field(None, description="raw value -> the value stored (a name, true/false...)")
    as_bool: bool = False
    invalid: dict[int, str] = Field(default_factory=dict, description="raw value -> why it is not a reading")
    valid_min: float | None = None
    valid_max: float | None = None
    out_of_range: Literal["uncertain", "bad"] = Field("uncertain", description="a value outside valid_min/max")
    describes: bool = Field(False, description="says how the block's other values were measured (with enum)")
    format: str | None = Field(None, description="version text, e.g. 'v{b0}.{b1}' (b: byte, h/l: nibbles)")
    value: bool | int | float | str | None = Field(None, description="the value of a 'const' field")
    battery: bool = Field(False, description="this point is the battery level in percent")
    raised_when: list[int] | None = Field(None, description="alarm: raw values that raise it (default: non-zero)")
    released_when: list[int] | None = Field(None, description="alarm: raw values that lower it (others: no flag)")
    when: dict[str, list[int]] | None = Field(None, description="read only when the named field of the same"
                                                                " channel or frame has one of these raw values")

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if (self.name is None) == (self.alarm is None):
            raise ValueError("give a field either 'name' (a point) or 'alarm' (an alarm flag), not both or neither")
        if self.type in SIZED and self.size is None:
            raise ValueError(f"a {self.type} field needs 'size' (its length in bytes)")
        if self.type == "const" and self.value is None:
            raise ValueError("a const field needs 'value'")
        if self.type == "version" and self.format is not None:
            _check_version_format(self.format, self.size or 0)
        if self.bits is not None:
            low, high = self.bit_range()
            width = 8 * INT_SIZES.get(self.type, 0)
            if not width:
                raise ValueError(f"'bits' needs an integer type, not {self.type}")
            if high >= width or low > high:
                raise ValueError(f"bits '{self.bits}' do not fit a {self.type} (bits 0-{width - 1})")
        if self.alarm is not None and (self.enum or self.battery or self.unit or self.describes):
            raise ValueError("an alarm field takes no 'enum', 'battery', 'unit' or 'describes'; use 'raised_when'")
        if self.released_when is not None and (self.alarm is None or self.raised_when is None):
            raise ValueError("'released_when' goes with 'raised_when' on an alarm field")
        if self.describes and not self.enum:
            raise ValueError("a field that 'describes' the others names its values in 'enum'")
        if self.scale == 0:
            raise ValueError("scale cannot be 0")
        return self

    @field_validator("bits")
    @classmethod
    def _bits_syntax(cls, value: str | None) -> str | None:
        if value is not None and not _BITS.match(str(value)):
            raise ValueError(f"bits '{value}' is not a bit ('7') or a range ('0-2')")
        return value

    def bit_range(self) -> tuple[int, int]:
        match = _BITS.match(str(self.bits))
        assert match is not None
        low = int(match.group(1))
        return low, int(match.group(2) or low)

    @property
    def width(self) -> int:
        """Bytes this field reads."""
        if self.type == "const":
            return 0
        if self.type in SIZED:
            return self.size or 0
        return INT_SIZES.get(self.type) or FLOAT_SIZES[self.type]


def _check_version_format(pattern: str, size: int) -> None:
    for _, field, spec, _ in string.Formatter().parse(pattern):
        if field is None:
            continue
        if not _VERSION_NAMES.match(field) or int(field[1:]) >= size:
            raise ValueError(f"version format '{pattern}': '{{{field}}}' is not b0..b{size - 1}, h0.. or l0..")
        if spec and spec not in ("x", "X", "d", "02x", "02X", "02d"):
            raise ValueError(f"version format '{pattern}': ':{spec}' is not x, X, d, 02x or 02d")


class Block(Model):
    """Fields laid out one after the other unless they give an offset."""

    fields: list[FieldSpec] = Field(min_length=1)
    length: int | None = Field(None, ge=0, le=255, description="bytes of the block (default: what its fields read)")

    def layout(self) -> list[tuple[int, FieldSpec]]:
        """(offset, field) pairs; a field without offset follows the previous one."""
        placed, position = [], 0
        for spec in self.fields:
            start = spec.offset if spec.offset is not None else position
            placed.append((start, spec))
            position = start + spec.width
        return placed

    def size(self) -> int:
        if self.length is not None:
            return self.length
        return max((start + spec.width for start, spec in self.layout()), default=0)

    @model_validator(mode="after")
    def _fits(self) -> Block:
        names = {spec.name for spec in self.fields if spec.name}
        for spec in self.fields:
            for other in spec.when or {}:
                if other not in names or other == spec.name:
                    raise ValueError(f"field '{spec.name or spec.alarm}': 'when' names '{other}', which is not"
                                     " another field of this channel or frame")
        if self.length is not None:
            for start, spec in self.layout():
                if start + spec.width > self.length:
                    label = spec.name or spec.alarm
                    raise ValueError(f"field '{label}' ends at byte {start + spec.width}, past the length"
                                     f" {self.length}")
        return self


class LengthBy(Model):
    """A skipped channel's length read from one of its bytes: a record type (``lengths``) or a length (``add``)."""

    byte: int = Field(ge=0, le=254, description="offset of that byte in the channel (after the id)")
    lengths: dict[int, int] | None = Field(None, description="type value -> the channel's length in bytes")
    add: int | None = Field(None, ge=1, le=255, description="the length is the byte's value plus this")

    @model_validator(mode="after")
    def _one_rule(self) -> LengthBy:
        if (self.lengths is None) == (self.add is None):
            raise ValueError("give either 'lengths' (type value -> length) or 'add' (the byte is a length)")
        if self.add is not None and self.add <= self.byte:
            raise ValueError(f"'add' {self.add} does not reach past the length byte {self.byte}")
        for value, length in (self.lengths or {}).items():
            if length <= self.byte or length > 255:
                raise ValueError(f"length {length} of type {value} does not reach past its type byte {self.byte}"
                                 " (1-255 bytes)")
        return self

    def length(self, chunk: bytes, default: int | None) -> int | None:
        """The channel's length given the bytes that follow its id; None when its type has no known length."""
        if len(chunk) <= self.byte:
            return default if self.lengths is not None else self.add
        if self.add is not None:
            return chunk[self.byte] + self.add
        assert self.lengths is not None
        return self.lengths.get(chunk[self.byte], default)


class Channel(Block):
    """A channel of a channel stream: its id bytes, then its value (or, with ``skip``, just its length)."""

    id: str | list[str] = Field(description="hex id bytes, e.g. '03 82'; several ids may share one layout")
    fields: list[FieldSpec] = Field(default_factory=list)
    skip: str | None = Field(None, description="pass the channel over (its length given) and say why")
    length_by: LengthBy | None = Field(None, description="skipped: the length by a type byte (default: length)")
    history: bool = Field(False, description="a record of past readings: its u32 field 'time' (Unix seconds, the"
                                             " device's clock) dates the others")

    @model_validator(mode="after")
    def _fields_or_skip(self) -> Channel:
        if self.history:
            time = next((spec for spec in self.fields if spec.name == "time"), None)
            if time is None or time.type not in ("u32", "i32") or time.scale != 1 or time.add != 0:
                raise ValueError(f"channel {self.id}: a history record has a field 'time' (type u32: Unix seconds)")
        if self.skip is not None and (self.fields or (self.length is None and self.length_by is None)):
            raise ValueError(f"channel {self.id}: a skipped channel gives its 'length' (or 'length_by') and no"
                             " 'fields'")
        if self.skip is None and not self.fields:
            raise ValueError(f"channel {self.id}: list its 'fields', or give 'length' and 'skip' (why it is passed"
                             " over)")
        if self.length_by is not None and self.skip is None:
            raise ValueError(f"channel {self.id}: 'length_by' is for a skipped channel; give 'skip' (why)")
        return self

    def ids(self) -> list[bytes]:
        raw = [self.id] if isinstance(self.id, str) else self.id
        return [hex_bytes(item, "channel id") for item in raw]

    @field_validator("id")
    @classmethod
    def _hex_ids(cls, value: str | list[str]) -> str | list[str]:
        for item in [value] if isinstance(value, str) else value:
            hex_bytes(item, "channel id")
        return value


class Match(Model):
    """Which payloads a frame layout is for (all given conditions must hold)."""

    length: int | list[int] | None = None
    min_length: int | None = Field(None, ge=0)
    prefix: str | None = Field(None, description="hex bytes the payload starts with")

    @field_validator("prefix")
    @classmethod
    def _hex_prefix(cls, value: str | None) -> str | None:
        if value is not None:
            hex_bytes(value, "prefix")
        return value

    def accepts(self, data: bytes) -> bool:
        lengths = [self.length] if isinstance(self.length, int) else self.length
        if lengths is not None and len(data) not in lengths:
            return False
        if self.min_length is not None and len(data) < self.min_length:
            return False
        return self.prefix is None or data.startswith(hex_bytes(self.prefix, "prefix"))


def _port_ranges(value: object) -> object:
    """``[1, "10-12"]`` -> ``[1, 10, 11, 12]``: fPorts as numbers or ranges."""
    if not isinstance(value, list):
        return value
    ports: list[object] = []
    for item in value:
        match = re.match(r"^\s*(\d{1,3})\s*-\s*(\d{1,3})\s*$", item) if isinstance(item, str) else None
        if isinstance(item, str) and match is None:
            raise ValueError(f"'{item}' is not an fPort or a range of them such as '1-223'")
        ports += list(range(int(match.group(1)), int(match.group(2)) + 1)) if match else [item]
    return ports


Ports = Annotated[list[int], BeforeValidator(_port_ranges)]


class Frame(Model):
    """One kind of uplink: a fixed layout, or a stream of channels."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_ .-]{0,62}$")
    fports: Ports | None = Field(None, description="default: every uplink fPort of the codec")
    match: Match = Match()
    layout: Literal["fixed", "channels"] = "fixed"
    skip: int = Field(0, ge=0, le=64, description="header bytes before the fields or channels (fixed by 'match')")
    fields: list[FieldSpec] = Field(default_factory=list)
    id_size: int = Field(2, ge=1, le=2, description="channels: bytes of a channel id (2 Milesight, 1 ELSYS)")
    channels: list[Channel] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list, description="named blocks of shared channels")
    trailing: Literal["error", "ignore"] = "error"

    @model_validator(mode="after")
    def _shape(self) -> Frame:
        if self.layout == "fixed" and (not self.fields or self.channels or self.include):
            raise ValueError(f"frame '{self.name}': a fixed layout lists 'fields' (and no 'channels' or 'include')")
        if self.layout == "channels":
            if not (self.channels or self.include) or self.fields:
                raise ValueError(f"frame '{self.name}': a channels layout lists 'channels' or 'include' (and no"
                                 " 'fields')")
            _unique_ids(self.channels, self.id_size, f"frame '{self.name}'")
        return self

    @field_validator("include")
    @classmethod
    def _block_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _BLOCK_NAME.match(name):
                raise ValueError(f"'{name}' is not a block name (lower-case letters, digits and '_'; the file"
                                 f" <name>{BLOCK_SUFFIX})")
        return value

    def block(self) -> Block:
        return Block(fields=self.fields)


def _unique_ids(channels: list[Channel], id_size: int, where: str) -> None:
    seen: set[bytes] = set()
    for channel in channels:
        for channel_id in channel.ids():
            if len(channel_id) != id_size:
                raise ValueError(f"{where}: channel id {channel_id.hex(' ')} is not {id_size} byte(s) (id_size)")
            if channel_id in seen:
                raise ValueError(f"{where}: channel id {channel_id.hex(' ')} is listed twice")
            seen.add(channel_id)


class TableBlockSpec(Model):
    """A named block of channels that several channel streams include (``<name>.block.yaml``)."""

    table_block: Literal[1] = Field(description="format version: 1")
    description: str = ""
    source: str = Field("", description="where the layout comes from (the vendor's document)")
    byte_order: ByteOrder | None = Field(None, description="of its fields that give none (default: the codec's)")
    id_size: int = Field(2, ge=1, le=2)
    channels: list[Channel] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids(self) -> TableBlockSpec:
        _unique_ids(self.channels, self.id_size, "block")
        return self


class FillLevel(Model):
    """A bin's fill level from a distance point and the device's bin geometry (site config)."""

    from_point: str = Field(alias="from")
    unless_alarm: str | None = None


class CommandValue(Model):
    """The one argument of a command, encoded after the command's fixed bytes."""

    type: Literal["u8", "u16", "u24", "u32"] = "u8"
    byte_order: ByteOrder | None = None
    min: int
    max: int
    divide_by: int = Field(1, ge=1, description="the device counts in units of this many (e.g. 60 s = minutes)")


class CommandSpec(Model):
    description: str = ""
    f_port: int = Field(ge=1, le=223)
    bytes: str = Field(description="hex bytes sent before the value")
    value: CommandValue | None = None
    suffix: str = ""

    @field_validator("bytes", "suffix")
    @classmethod
    def _hex(cls, value: str) -> str:
        if value:
            hex_bytes(value, "command bytes")
        return value


class TableCodecSpec(Model):
    """A whole declarative codec file."""

    table_codec: Literal[1] = Field(description="format version: 1")
    model: str = Field(min_length=1)
    domain: str | None = None
    source: str = Field("", description="where the layout comes from (the vendor's document)")
    byte_order: ByteOrder = "big"
    uplink_fports: Ports = Field(min_length=1, description="fPorts, or ranges of them such as '1-223'")
    frames: list[Frame] = Field(min_length=1)
    fill_level: FillLevel | None = None
    commands: dict[str, CommandSpec] = Field(default_factory=dict)

    @field_validator("domain")
    @classmethod
    def _known_domain(cls, value: str | None) -> str | None:
        if value is not None and value not in DOMAINS:
            raise ValueError(f"'{value}' is not a domain; expected one of: {', '.join(DOMAINS)}")
        return value

    @field_validator("uplink_fports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 1 <= port <= 223:
                raise ValueError(f"fPort {port} is not an application port (1-223)")
        return value

    @model_validator(mode="after")
    def _frames_on_known_ports(self) -> TableCodecSpec:
        for frame in self.frames:
            outside = sorted(set(frame.fports or []) - set(self.uplink_fports))
            if outside:
                raise ValueError(f"frame '{frame.name}' is on fPort {outside}, not in uplink_fports")
        return self


def read_table_codec(path: Path) -> TableCodecSpec:
    """Read and check a table codec file; ConfigError with one ``PATH: key: problem`` line per problem.

    The blocks its frames include are read too (beside the file first, then the bundled ones) and their channels
    added to the frame's; a channel the frame lists itself replaces a block's channel of the same id.
    """
    data = _read_yaml(path, "a mapping with table_codec, model, uplink_fports, frames")
    try:
        spec = validate(TableCodecSpec, data)
    except ValidationError as exc:
        raise ConfigError(_problems(path, exc)) from exc
    frames = [_with_blocks(path, index, frame, spec.byte_order) if frame.include else frame
              for index, frame in enumerate(spec.frames)]
    return spec.model_copy(update={"frames": frames})


def read_block(path: Path) -> TableBlockSpec:
    """Read and check a block file (``<name>.block.yaml``)."""
    data = _read_yaml(path, "a mapping with table_block, channels")
    try:
        return validate(TableBlockSpec, data)
    except ValidationError as exc:
        raise ConfigError(_problems(path, exc)) from exc


def block_path(codec_path: Path, name: str) -> Path | None:
    """Where the block a codec includes is: beside the codec, else among the bundled LoRaWAN drivers."""
    for folder in (codec_path.parent, resources.drivers_dir() / "lorawan"):
        candidate = folder / f"{name}{BLOCK_SUFFIX}"
        if candidate.is_file():
            return candidate
    return None


def _with_blocks(path: Path, index: int, frame: Frame, byte_order: ByteOrder) -> Frame:
    """The frame with the channels of its blocks added (its own channels win over a block's of the same id)."""
    own = {channel_id for channel in frame.channels for channel_id in channel.ids()}
    added: dict[bytes, str] = {}
    channels = list(frame.channels)
    for position, name in enumerate(frame.include):
        key = f"{path}: frames.{index}.include.{position}"
        found = block_path(path, name)
        if found is None:
            raise ConfigError([f"{key}: no block '{name}' ({name}{BLOCK_SUFFIX} is neither beside the codec nor"
                               " among the bundled drivers); check the name"])
        block = read_block(found)
        if block.id_size != frame.id_size:
            raise ConfigError([f"{key}: block '{name}' has {block.id_size}-byte channel ids, the frame"
                               f" {frame.id_size} (id_size)"])
        for channel in block.channels:
            ids = [channel_id for channel_id in channel.ids() if channel_id not in own]
            for channel_id in ids:
                if channel_id in added:
                    raise ConfigError([f"{key}: channel {channel_id.hex(' ')} is in blocks '{added[channel_id]}'"
                                       f" and '{name}'; list it in the frame to say which layout holds"])
                added[channel_id] = name
            if ids:
                channels.append(_placed(channel, ids, block.byte_order or byte_order))
    return frame.model_copy(update={"channels": channels})


def _placed(channel: Channel, ids: list[bytes], order: ByteOrder) -> Channel:
    """A block's channel as the frame uses it: the ids the frame does not list itself, the block's byte order."""
    fields = [spec if spec.byte_order else spec.model_copy(update={"byte_order": order}) for spec in channel.fields]
    return channel.model_copy(update={"id": [channel_id.hex(" ") for channel_id in ids], "fields": fields})


def _read_yaml(path: Path, expected: str) -> object:
    try:
        data = read_yaml(path.read_text(encoding="utf-8"), fast=False)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror}); check the path"]) from exc
    except YamlError as exc:
        raise ConfigError([f"{path}: (yaml): {str(exc).splitlines()[0]}; fix the YAML syntax there"]) from exc
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: (top level): expected {expected}"])
    return data


def _problems(path: Path, exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-"))
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling (drivers/lorawan/README.md lists the keys)"
        elif error["type"] == "missing":
            message = "is missing; this key is required"
        elif error["type"] == "literal_error":
            message = f"{error.get('input')!r} is not allowed; expected one of {error['ctx']['expected']}"
        problems.append(f"{path}: {key or '(top level)'}: {message}")
    return problems
