"""pydantic's model API without pydantic, for processes that read a compiled config instead of validating one.

pydantic and its compiled core cost a process about 18 MB and a tenth of a second before any model is built; the
daemon and the technician's everyday commands read values that ``edge_agent.config.compiled`` checked with pydantic
once, in another process. In such a process (``edge_agent.config.mode``) the config models are defined on these
stand-ins instead: a class records its fields and their defaults, an instance holds its values and nothing
checks them; validators, constraints and descriptions are kept by pydantic alone. The models' own methods and
properties work as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")
_REQUIRED: Any = object()


class FieldInfo:
    """A field's default (or default factory); nothing else of ``pydantic.Field`` matters without validation."""

    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any = _REQUIRED, default_factory: Callable[[], Any] | None = None) -> None:
        self.default = default
        self.default_factory = default_factory

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED and self.default_factory is None

    def make_default(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


def Field(default: Any = _REQUIRED, *, default_factory: Callable[[], Any] | None = None,  # noqa: N802 - pydantic's name
          **_constraints: Any) -> Any:
    return FieldInfo(default, default_factory)


def ConfigDict(**options: Any) -> dict[str, Any]:  # noqa: N802 - pydantic's name
    return dict(options)


def _unchanged(function: T) -> T:
    return function


def field_validator(*_fields: str, **_options: Any) -> Callable[[T], T]:
    return _unchanged


def model_validator(**_options: Any) -> Callable[[T], T]:
    return _unchanged


class BeforeValidator:
    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func


class ValidationInfo:
    """Only named in validators' signatures: validators do not run here."""


class ValidationError(ValueError):
    """A validation done by a pydantic process, its errors as ``pydantic.ValidationError.errors()`` gave them."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self._errors = errors

    def errors(self, *, include_url: bool = True) -> list[dict[str, Any]]:
        return [dict(error) for error in self._errors]


class BaseModel:
    """A frozen record of fields, built from values pydantic checked (``model_construct``) or from defaults.

    Its fields are set through ``object.__setattr__`` in the order of ``model_fields`` and its ``__dict__`` is never
    asked for: CPython then keeps the values inline and the names once for the class, about a third of a
    dictionary of the record's own (a site's device configs are most of the daemon's records: 500 LoRaWAN nodes
    at a commune)."""

    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    registry: ClassVar[dict[str, type[BaseModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, FieldInfo] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "model_fields", {}))
        for name in inspect.get_annotations(cls):
            if name.startswith("_") or name in ("model_config", "model_fields", "registry"):
                continue
            value = cls.__dict__.get(name, _REQUIRED)
            fields[name] = value if isinstance(value, FieldInfo) else FieldInfo(value)
            if isinstance(value, FieldInfo):
                delattr(cls, name)
        cls.model_fields = fields
        BaseModel.registry[f"{cls.__module__}:{cls.__qualname__}"] = cls

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.model_fields)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(unknown)}")
        for name, info in self.model_fields.items():
            if name in values:
                object.__setattr__(self, name, values[name])
            elif info.required:
                raise TypeError(f"{type(self).__name__}: {name} is required")
            else:
                object.__setattr__(self, name, info.make_default())

    @classmethod
    def filled(cls: type[_M], values: Mapping[str, Any]) -> _M:
        """A record of ``values``, which hold every field and nothing else (checked by the caller)."""
        record = object.__new__(cls)
        for name in cls.model_fields:
            object.__setattr__(record, name, values[name])
        return record

    @classmethod
    def model_construct(cls: type[_M], **values: Any) -> _M:
        return cls(**values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"{type(self).__name__} is frozen: '{name}' cannot be set")

    def __delattr__(self, name: str) -> None:
        raise TypeError(f"{type(self).__name__} is frozen: '{name}' cannot be deleted")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.model_fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), *self._values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self)})"

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for name in self.model_fields:
            yield name, getattr(self, name)

    def model_copy(self: _M, *, update: dict[str, Any] | None = None, deep: bool = False) -> _M:
        return type(self).filled({**dict(self), **(update or {})})

    def model_dump(self) -> dict[str, Any]:
        return {name: _dump(value) for name, value in self}


_M = TypeVar("_M", bound=BaseModel)


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return type(value)(_dump(item) for item in value)
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    return value
