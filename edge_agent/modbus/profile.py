"""Device profiles: one TOML file per device model in ``drivers/modbus/``, read into typed models.

The format is described in ``drivers/modbus/README.md``. Loading checks everything (types against tables,
overlapping registers, write ranges) so that a bad profile fails at start-up, never during a poll.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

from edge_agent.config.base import Field, Model, ValidationError, model_validator
from edge_agent.config.compiled import parsed_text, validate
from edge_agent.domains import Domain
from edge_agent.errors import ConfigError
from edge_agent.modbus.datatypes import DataType, Order, RegisterCodec
from edge_agent.resources import drivers_dir

Table = Literal["coil", "discrete", "holding", "input"]
BIT_TABLES = frozenset({"coil", "discrete"})
WRITABLE_TABLES = frozenset({"coil", "holding"})


class Simulation(Model):
    """How the simulator moves this point: a sine around ``base``, a counter, or a constant."""

    kind: Literal["sine", "counter", "constant"] = "constant"
    base: float = 0.0
    amplitude: float = 0.0
    period: float = Field(600.0, gt=0)
    rate: float = Field(1.0, description="counter increase per second")


class PointSpec(Model):
    """One named value of the device."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,62}$")
    table: Table
    address: int = Field(ge=0, le=65535, description="0-based protocol address")
    type: DataType | None = None
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    word_order: Order | None = None
    byte_order: Order | None = None
    bit: int = Field(0, ge=0, le=15)
    length: int = Field(1, ge=1, le=64, description="registers of a string")
    writable: bool = False
    min: float | None = None
    max: float | None = None
    valid_min: float | None = None
    valid_max: float | None = None
    description: str = ""
    sim: Simulation = Simulation()

    @model_validator(mode="after")
    def _consistent(self) -> PointSpec:
        kind = self.type or ("bool" if self.table in BIT_TABLES else "u16")
        if (kind == "bool") != (self.table in BIT_TABLES):
            raise ValueError(f"point '{self.name}': type {kind} does not fit table {self.table}")
        if self.writable and self.table not in WRITABLE_TABLES:
            raise ValueError(f"point '{self.name}': only coil and holding points can be writable")
        if self.scale == 0:
            raise ValueError(f"point '{self.name}': scale cannot be 0")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"point '{self.name}': min is above max")
        return self

    def codec(self, word_order: Order, byte_order: Order) -> RegisterCodec:
        kind: DataType = self.type or ("bool" if self.table in BIT_TABLES else "u16")
        return RegisterCodec(
            type=kind,
            word_order=self.word_order or word_order,
            byte_order=self.byte_order or byte_order,
            scale=self.scale,
            offset=self.offset,
            bit=self.bit,
            length=self.length,
        )


class DeviceInfo(Model):
    manufacturer: str
    model: str
    description: str = ""
    reference: str = ""
    domain: Domain | None = Field(None, description="what the device serves: lighting, waste, mobility, security, "
                                                    "energy, water or environment")


class Defaults(Model):
    word_order: Order = "big"
    byte_order: Order = "big"


class Profile(Model):
    """A device model's register map."""

    device: DeviceInfo
    defaults: Defaults = Defaults()
    points: list[PointSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Profile:
        names = [point.name for point in self.points]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"points defined twice: {', '.join(duplicates)}")
        return self

    def point(self, name: str) -> PointSpec:
        for point in self.points:
            if point.name == name:
                return point
        raise KeyError(name)

    def codec(self, point: PointSpec) -> RegisterCodec:
        return point.codec(self.defaults.word_order, self.defaults.byte_order)


def profiles_dir() -> Path:
    return drivers_dir() / "modbus"


def available_profiles() -> list[str]:
    return sorted(path.stem for path in profiles_dir().glob("*.toml"))


@functools.cache
def load_profile(name: str) -> Profile:
    """The profile ``drivers/modbus/<name>.toml``; ConfigError with one line per problem."""
    return read_profile(profiles_dir() / f"{name}.toml")


def read_profile(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from exc
    # A compiled process (the daemon) takes what the check parsed of this very text: it loads no TOML parser.
    data = parsed_text("toml", text, lambda: _parse(path, text))
    try:
        return validate(Profile, data)
    except ValidationError as exc:
        raise ConfigError([f"{path}: {_key(error['loc'], data)}: {_explain(error)}"
                           for error in exc.errors(include_url=False)]) from exc


def _parse(path: Path, text: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: (toml): {exc}"]) from exc


_SECTIONS: dict[str, type[Model]] = {"device": DeviceInfo, "defaults": Defaults, "points": PointSpec,
                                     "sim": Simulation}


def _key(loc: tuple[int | str, ...], data: object) -> str:
    """The key of a problem, with the name of the point it is in: ``points.2 (energy).adress``."""
    parts = []
    node = data
    for part in loc:
        node = node.get(part) if isinstance(node, dict) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
        label = str(part)
        if isinstance(part, int) and isinstance(node, dict) and isinstance(node.get("name"), str):
            label += f" ({node['name']})"
        parts.append(label)
    return ".".join(parts) or "(top level)"


def _explain(error: Any) -> str:
    """What is wrong and how to fix it, in the words of drivers/modbus/README.md."""
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        section = next((_SECTIONS[str(p)] for p in reversed(loc[:-1]) if str(p) in _SECTIONS), Profile)
        import difflib  # a wrong name only

        hint = difflib.get_close_matches(str(loc[-1]), list(section.model_fields), n=1)
        return (f"unknown key; did you mean '{hint[0]}'?" if hint else
                f"unknown key; expected one of: {', '.join(section.model_fields)}")
    if kind == "missing":
        return "is missing; this key is required (drivers/modbus/README.md, 'The profile file')"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{error.get('input')!r} is not allowed; expected {error['ctx']['expected']}"
    if "input" in error and kind not in {"value_error", "assertion_error"}:
        return f"{message} (got {error['input']!r})"
    return message
