"""Which FIWARE Smart Data Model each device becomes, and which attribute and unit each point becomes.

The mapping is data: ``drivers/fiware.yaml`` (read once, checked here). This module turns it into typed rules and
answers three questions, all pure: which entity type a device model is (listed, or guessed from its point names
and words), which attribute a point fills (with the unit conversion and the model's range or enumeration), and
what name a point without an attribute gets (its own, camelCase, never a term of the model's @context).
"""

from __future__ import annotations

import fnmatch
import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from edge_agent.config.base import Field, Model, ValidationError
from edge_agent.config.compiled import validate
from edge_agent.config.yaml_text import YamlError, read_yaml
from edge_agent.errors import ConfigError
from edge_agent.frozen import frozen
from edge_agent.resources import drivers_dir

DEFAULT_TYPE = "Device"
NO_UNIT = "1"  # a dimensionless ratio (UN/CEFACT C62)


# -- the file, as written ------------------------------------------------------------------------------------------

class _Unit(Model):
    code: str
    base: str | None = None
    factor: float = 1.0


class _Component(Model):
    match: str
    component: str | None = None
    when: dict[str, str | int | bool] = Field(default_factory=dict)


class _Attribute(Model):
    points: list[str | _Component] = Field(default_factory=list)
    unit: str | None = None
    range: tuple[float | None, float | None] | None = None
    enum: list[str] | None = None
    integer: bool = False
    text: bool = False


class _Type(Model):
    subject: str
    attributes: dict[str, _Attribute] = Field(default_factory=dict)
    status: dict[str, str | list[str]] | None = None
    lamp_on: list[str] = Field(default_factory=list)


class _Addresses(Model):
    pattern: str
    prefer: list[str] = Field(default_factory=list)


class _Model(Model):
    type: str
    enums: dict[str, dict[int | str, str]] = Field(default_factory=dict)
    addresses: _Addresses | None = None
    phase_type: str | None = None


class _Kind(Model):
    type: str
    points: list[str] = Field(default_factory=list)
    words: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)


class _File(Model):
    units: dict[str, _Unit]
    common: dict[str, _Attribute] = Field(default_factory=dict)
    types: dict[str, _Type]
    models: dict[str, _Model] = Field(default_factory=dict)
    kinds: list[_Kind] = Field(default_factory=list)
    domains: dict[str, str] = Field(default_factory=dict)
    controlled_properties: dict[str, str] = Field(default_factory=dict)
    controlled_units: dict[str, str] = Field(default_factory=dict)


# -- the rules ---------------------------------------------------------------------------------------------------

@frozen
class Unit:
    symbol: str
    code: str
    base: str
    factor: float


@frozen
class PointRule:
    """A point an attribute takes: by exact name, or by pattern with the component of an object value; ``when``:
    the values other points of the device must have had for the reading to mean what the attribute means."""

    name: str | None = None
    pattern: re.Pattern[str] | None = None
    component: str | None = None
    when: Mapping[str, object] = field(default_factory=dict)

    def match(self, point: str) -> tuple[bool, str | None]:
        if self.name is not None:
            return point == self.name, self.component
        assert self.pattern is not None
        found = self.pattern.fullmatch(point)
        if found is None:
            return False, None
        return True, (self.component or "").format(**found.groupdict())


@frozen
class AttributeSpec:
    name: str
    rules: tuple[PointRule, ...]
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    enum: tuple[str, ...] | None = None
    integer: bool = False
    project: bool = False  # the project's own attribute (in its @context), not one of the model's
    text: bool = False  # a text attribute (a firmware version), not a number

    def holds(self, value: object) -> bool:
        """Whether the model allows ``value`` (already converted) for this attribute."""
        if self.enum is not None:
            return isinstance(value, str) and value in self.enum
        if self.text:
            return isinstance(value, str)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False  # every other attribute the types list is a number
        if self.integer and not float(value).is_integer():
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@frozen
class Target:
    """Where a point goes: the attribute, its component in an object value, the other points' values it needs."""

    attribute: AttributeSpec
    component: str | None = None
    when: Mapping[str, object] = field(default_factory=dict)


@frozen
class StateRule:
    """A state attribute judged from flags: the first state with a raised flag, else ``otherwise``."""

    states: tuple[tuple[str, tuple[tuple[str, object], ...]], ...]
    otherwise: str | None = None
    default: str | None = None

    def flags(self) -> set[str]:
        return {point for _, flags in self.states for point, _ in flags}


@frozen
class TypeSpec:
    name: str
    subject: str
    attributes: Mapping[str, AttributeSpec]
    status: StateRule | None = None
    lamp_on: tuple[str, ...] = ()
    _found: dict[str, Target | None] = field(default_factory=dict, compare=False, repr=False)

    def attribute_for(self, point: str) -> Target | None:
        """The attribute a point fills (and its component in an object value), or None; remembered per point."""
        if point in self._found:
            return self._found[point]
        found = None
        for spec in self.attributes.values():
            for rule in spec.rules:
                matched, component = rule.match(point)
                if matched:
                    found = Target(spec, component, rule.when)
                    break
            if found is not None:
                break
        self._found[point] = found
        return found


@frozen
class ModelSpec:
    entity_type: str
    enums: Mapping[str, Mapping[object, str]] = field(default_factory=dict)
    addresses: re.Pattern[str] | None = None
    prefer: tuple[str, ...] = ()
    phase_type: str | None = None

    def split_address(self, point: str) -> tuple[str, str | None]:
        """``dimming_level.dali_single_3`` -> (``dimming_level``, ``dali_single_3``) for a model with addresses."""
        if self.addresses is not None and "." in point:
            kind, _, suffix = point.rpartition(".")
            if self.addresses.fullmatch(suffix):
                return kind, suffix
        return point, None


@frozen
class KindRule:
    entity_type: str
    points: tuple[str, ...]
    words: tuple[re.Pattern[str], ...]
    domains: frozenset[str] = frozenset()

    def matches(self, text: str, points: Iterable[str], domain: str | None = None) -> bool:
        if domain is not None and self.domains and domain not in self.domains:
            return False
        if any(word.search(text) for word in self.words):
            return True
        return any(fnmatch.fnmatchcase(point, pattern) for point in points for pattern in self.points)


@frozen
class FiwareMapping:
    units: Mapping[str, Unit]
    types: Mapping[str, TypeSpec]
    models: Mapping[str, ModelSpec]
    kinds: tuple[KindRule, ...]
    controlled: tuple[tuple[str, str], ...]
    controlled_units: Mapping[str, str] = field(default_factory=dict)
    domains: Mapping[str, str] = field(default_factory=dict)

    def model(self, key: str, text: str = "", points: Iterable[str] = (), domain: str | None = None) -> ModelSpec:
        """The model's settings; a model not listed gets the type of the first kind rule it matches (rules of
        another domain than the model's are passed over), else its domain's type, else Device."""
        listed = self.models.get(key)
        if listed is not None:
            return listed
        names = list(points)
        haystack = f"{key.replace('_', ' ')} {text}".lower()
        for rule in self.kinds:
            if rule.matches(haystack, names, domain):
                return ModelSpec(rule.entity_type)
        return ModelSpec(self.domains.get(domain or "", DEFAULT_TYPE))

    def unit_code(self, unit: str | None) -> str | None:
        spec = self.units.get(unit) if unit is not None else None
        return spec.code if spec is not None else None

    def convert(self, value: float, unit: str | None, target: str | None) -> float | None:
        """``value`` in ``unit`` expressed in ``target``; None when the units do not measure the same thing."""
        if target is None or unit is None or unit == target:
            return value
        source, goal = self.units.get(unit), self.units.get(target)
        if source is None or goal is None or source.base != goal.base:
            return None
        return round(value * source.factor / goal.factor, 9)

    def controlled_properties(self, points: Iterable[str], units: Iterable[str | None] = ()) -> list[str]:
        """A Device's controlledProperty, from words of its point names, else from its readings' units."""
        names = [re.sub(r"[.-]", "_", point) for point in points]
        found: list[str] = []
        for word, prop in self.controlled:
            pattern = re.compile(rf"(?:^|_){re.escape(word)}")
            if prop not in found and any(pattern.search(name) for name in names):
                found.append(prop)
        if not found:
            for unit in units:
                by_unit = self.controlled_units.get(unit) if unit is not None else None
                if by_unit is not None and by_unit not in found:
                    found.append(by_unit)
        return found


@functools.lru_cache(maxsize=4096)
def camel(point: str) -> str:
    """A point name as an NGSI-LD attribute name: no dots (the query path separator), camelCase."""
    parts = [part for part in re.split(r"[._-]+", point) if part]
    if not parts:
        return "point"
    name = parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])
    return name if name[0].isalpha() else f"p{name}"


# -- loading -----------------------------------------------------------------------------------------------------

def _attribute(name: str, raw: _Attribute, *, project: bool = False) -> AttributeSpec:
    rules = []
    for entry in raw.points:
        if isinstance(entry, str):
            rules.append(PointRule(name=entry))
        elif re.fullmatch(r"[a-z0-9_.]+", entry.match):
            rules.append(PointRule(name=entry.match, component=entry.component, when=dict(entry.when)))
        else:
            rules.append(PointRule(pattern=re.compile(entry.match), component=entry.component, when=dict(entry.when)))
    low, high = raw.range if raw.range is not None else (None, None)
    return AttributeSpec(name, tuple(rules), raw.unit, low, high, tuple(raw.enum) if raw.enum else None, raw.integer,
                         project, raw.text)


def _state(raw: Mapping[str, str | list[str]] | None) -> StateRule | None:
    if raw is None:
        return None
    states = []
    for state, flags in raw.items():
        if state in ("otherwise", "default"):
            continue
        parsed = []
        for flag in flags if isinstance(flags, list) else [flags]:
            point, equals, expected = flag.partition("=")
            parsed.append((point, expected if equals else True))
        states.append((state, tuple(parsed)))
    otherwise, default = raw.get("otherwise"), raw.get("default")
    return StateRule(tuple(states), otherwise if isinstance(otherwise, str) else None,
                     default if isinstance(default, str) else None)


def _words(words: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"\b{re.escape(word.lower())}\b") for word in words)


def build_mapping(data: Mapping[str, Any], source: str = "fiware.yaml") -> FiwareMapping:
    """Check the mapping file's content and compile it; ConfigError names the file and the key."""
    try:
        raw = validate(_File, data)
    except ValidationError as exc:
        raise ConfigError([f"{source}: {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                           for e in exc.errors(include_url=False)]) from exc
    problems = [f"{source}: models.{key}.type: no type '{model.type}' under types"
                for key, model in raw.models.items() if model.type not in raw.types]
    problems += [f"{source}: kinds: no type '{kind.type}' under types" for kind in raw.kinds
                 if kind.type not in raw.types]
    problems += [f"{source}: domains.{domain}: no type '{kind}' under types" for domain, kind in raw.domains.items()
                 if kind not in raw.types]
    if DEFAULT_TYPE not in raw.types:
        problems.append(f"{source}: types: the default type {DEFAULT_TYPE} is missing")
    if problems:
        raise ConfigError(problems)
    units = {symbol: Unit(symbol, unit.code, unit.base or symbol, unit.factor) for symbol, unit in raw.units.items()}
    common = {name: _attribute(name, attr, project=True) for name, attr in raw.common.items()}
    types = {}
    for name, entry in raw.types.items():
        own = {attr: _attribute(attr, spec) for attr, spec in entry.attributes.items()}
        types[name] = TypeSpec(name, entry.subject, {**{k: v for k, v in common.items() if k not in own}, **own},
                               _state(entry.status), tuple(entry.lamp_on))
    models = {key: ModelSpec(m.type, {p: {raw: state for raw, state in v.items()} for p, v in m.enums.items()},
                             re.compile(m.addresses.pattern) if m.addresses else None,
                             tuple(m.addresses.prefer) if m.addresses else (), m.phase_type)
              for key, m in raw.models.items()}
    kinds = tuple(KindRule(k.type, tuple(k.points), _words(k.words), frozenset(k.domains)) for k in raw.kinds)
    return FiwareMapping(units, types, models, kinds, tuple(raw.controlled_properties.items()),
                         dict(raw.controlled_units), dict(raw.domains))


def mapping_path() -> Path:
    return drivers_dir() / "fiware.yaml"


@functools.cache
def default_mapping() -> FiwareMapping:
    """The shipped mapping (``drivers/fiware.yaml`` of the checkout or the wheel)."""
    path = mapping_path()
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, YamlError) as exc:
        raise ConfigError([f"{path}: cannot be read: {exc}"]) from exc
    return build_mapping(data, str(path))
