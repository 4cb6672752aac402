"""Frozen dataclasses whose methods are shared by every class instead of compiled for each.

``@dataclass(frozen=True)`` compiles six methods for every class it makes (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``, ``__delattr__``): with their code objects, closures and wrappers, about 5 KB a class,
0.6 MB of the daemon's memory for the hundred-odd classes it loads (docs/performance.md). ``@frozen`` keeps the
``__init__`` the dataclass compiles (each class's constructor, on the hot paths) and gives every class the same five
others, which read what the class says of its fields. They do what the dataclass's own do: equality and hash over
the compared fields, a repr of the shown ones, each assignment or deletion of a field refused with
``FrozenInstanceError``. A method the class defines itself is kept, as a dataclass keeps it.

Use it as ``@dataclass(frozen=True)``: ``@frozen`` or ``@frozen(slots=True)``, fields declared with
``dataclasses.field``; ``dataclasses.fields``, ``replace`` and ``asdict`` see a dataclass.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

_C = TypeVar("_C", bound=type)

# Set on each class, read there by the shared methods (a getter read through an instance would be bound to it).
_COMPARED = "_frozen_compared"  # a getter of the compared fields' values, as one tuple
_HASHED = "_frozen_hashed"  # the same for the hashed fields (the compared ones, unless a field says otherwise)
_SHOWN = "_frozen_shown"  # the names the repr shows
_FIELDS = "_frozen_fields"  # every field's name


def _values_of(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A getter of these attributes' values as one tuple; a tuple whatever their number, so that values compare as
    the dataclass's tuples do (a value is equal to itself, even a NaN)."""
    if not names:
        return lambda _: ()
    if len(names) == 1:
        return attrgetter(names[0], names[0])
    return attrgetter(*names)


def _eq(self: Any, other: object) -> Any:
    if other.__class__ is self.__class__:
        compared = getattr(self.__class__, _COMPARED)
        return compared(self) == compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(getattr(self.__class__, _HASHED)(self))


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in getattr(self.__class__, _SHOWN))
    return f"{self.__class__.__qualname__}({shown})"


def _unless_frozen(instance: Any, name: str, change: str) -> type[Any]:
    """The class ``@frozen`` made that this instance is of (itself, or a base of a plain subclass), once sure the
    change may be made: an instance of that class itself, or a field of it, refuses any."""
    owner = next(cls for cls in type(instance).__mro__ if _FIELDS in cls.__dict__)
    if owner is type(instance) or name in getattr(owner, _FIELDS):
        raise dataclasses.FrozenInstanceError(f"cannot {change} field {name!r}")
    return owner


def _setattr(self: Any, name: str, value: Any) -> None:
    super(_unless_frozen(self, name, "assign to"), self).__setattr__(name, value)


def _delattr(self: Any, name: str) -> None:
    super(_unless_frozen(self, name, "delete"), self).__delattr__(name)


def _share_methods(cls: type, *, slots: bool) -> type:
    own = dict(cls.__dict__)
    # The dataclass's rule for an eq=True frozen class: it gets a hash unless it defines one itself (an __eq__ of its
    # own leaves __hash__ at None, which does not count as defining one).
    own_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    made: type = dataclasses.dataclass(cls, frozen=True, eq=False, repr=False, slots=slots)
    fields = dataclasses.fields(made)
    compared = [f.name for f in fields if f.compare]
    hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
    compared_values = _values_of(compared)
    shared: dict[str, Any] = {
        _COMPARED: compared_values,
        _HASHED: compared_values if hashed == compared else _values_of(hashed),
        _SHOWN: tuple(f.name for f in fields if f.repr),
        _FIELDS: frozenset(f.name for f in fields),
        "__setattr__": _setattr,
        "__delattr__": _delattr,
    }
    if "__eq__" not in own:
        shared["__eq__"] = _eq
    if not own_hash:
        shared["__hash__"] = _hash
    if "__repr__" not in own:
        shared["__repr__"] = _repr
    for name, value in shared.items():
        setattr(made, name, value)
    return made


@overload
def frozen(cls: _C, /) -> _C: ...


@overload
def frozen(*, slots: bool = False) -> Callable[[_C], _C]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: _C | None = None, /, *, slots: bool = False) -> _C | Callable[[_C], _C]:
    """``@dataclass(frozen=True)`` (``slots`` as there), its methods shared: see the module's docstring."""

    def wrap(target: _C) -> _C:
        return _share_methods(target, slots=slots)  # type: ignore[return-value]

    return wrap if cls is None else wrap(cls)
