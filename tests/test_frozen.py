"""``@frozen`` behaves as ``@dataclass(frozen=True)``: each class below is made both ways and asked the same."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import sys
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.frozen import frozen


def _pair(body: dict[str, Any], annotations: dict[str, str], *, slots: bool = False) -> tuple[type, type]:
    """The same class made by ``dataclass(frozen=True)`` and by ``frozen``."""
    made: list[type] = []
    for decorate in (dataclass(frozen=True, slots=slots), frozen(slots=slots)):
        namespace = {"__annotations__": dict(annotations), "__module__": __name__, "__qualname__": "Point", **body}
        made.append(decorate(type("Point", (), namespace)))
    return made[0], made[1]


PLAIN = ({"unit": "V"}, {"x": "float", "y": "Any", "unit": "str"})
# A field left out of equality, hash and repr, as modbus/plan.py and contract/fiware.py have.
HIDDEN = ({"cache": field(default=(), compare=False, repr=False)}, {"x": "float", "cache": "tuple[int, ...]"})
values = st.one_of(st.integers(), st.floats(allow_nan=True), st.text(max_size=5), st.none(),
                   st.tuples(st.integers(), st.text(max_size=3)))


@pytest.mark.parametrize("slots", [False, True])
@given(x=st.floats(allow_nan=True), y=values, x2=st.floats(allow_nan=True), y2=values)
def test_equality_hash_and_repr_are_the_dataclasses(slots: bool, x: float, y: Any, x2: float, y2: Any) -> None:
    reference, ours = _pair(*PLAIN, slots=slots)
    a, b = reference(x, y), reference(x2, y2)
    c, d = ours(x, y), ours(x2, y2)
    assert (c == d) is (a == b)
    # the same values are equal, a NaN too, as in the dataclass's tuples (which compare by identity first)
    assert (ours(x, y) == c) is (reference(x, y) == a)
    assert (c != d) is (a != b)
    assert repr(c) == repr(a)
    if a == b:
        assert hash(c) == hash(d)
    assert (c == a) is False and c.__eq__(a) is NotImplemented  # another class is never equal


def test_a_field_left_out_of_comparison_is_left_out_of_equality_hash_and_repr() -> None:
    reference, ours = _pair(*HIDDEN)
    assert ours(1.0, (1,)) == ours(1.0, (2,)) and hash(ours(1.0, (1,))) == hash(ours(1.0, (2,)))
    assert repr(ours(1.0, (1,))) == repr(reference(1.0, (1,))) == "Point(x=1.0)"
    assert ours(1.0) != ours(2.0)


@pytest.mark.parametrize("slots", [False, True])
def test_every_change_is_refused_as_the_dataclass_refuses_it(slots: bool) -> None:
    reference, ours = _pair(*PLAIN, slots=slots)
    for made in (reference(1.0, 2), ours(1.0, 2)):
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
            made.x = 3.0
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'y'"):
            del made.y
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'other'"):
        ours(1.0, 2).other = 1  # (3.11's own, with slots, fails on its super())


def test_a_plain_subclass_may_add_attributes_but_not_change_fields() -> None:
    _, ours = _pair(*PLAIN)
    sub = type("Sub", (ours,), {})
    made = sub(1.0, 2)
    made.note = "kept"
    assert made.note == "kept"
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.x = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        del made.x


def test_the_dataclass_tools_copies_and_pickles_work() -> None:
    module = sys.modules[__name__]
    for slots in (False, True):
        _, ours = _pair(*PLAIN, slots=slots)
        module.Point = ours  # type: ignore[attr-defined]  # pickle finds a class by its module and name
        made: Any = ours(1.0, [2])
        assert dataclasses.is_dataclass(ours)
        assert [f.name for f in dataclasses.fields(made)] == ["x", "y", "unit"]
        assert dataclasses.asdict(made) == {"x": 1.0, "y": [2], "unit": "V"}
        assert dataclasses.replace(made, x=5.0) == made.__class__(5.0, [2])
        assert copy.copy(made) == made and copy.deepcopy(made) == made
        assert pickle.loads(pickle.dumps(made)) == made
        assert made.__match_args__ == ("x", "y", "unit")
    del module.Point


def test_methods_the_class_defines_are_kept() -> None:
    def own_eq(self: Any, other: object) -> bool:
        return True

    reference, ours = _pair({"__eq__": own_eq, "__repr__": lambda self: "mine"}, {"x": "int"})
    assert ours(1) == ours(2) and reference(1) == reference(2)
    assert repr(ours(1)) == repr(reference(1)) == "mine"
    assert hash(ours(1)) == hash(ours(1)) and hash(ours(1)) != hash(ours(2))  # a hash is added, as the dataclass adds
    _, hashed = _pair({"__hash__": lambda self: 7}, {"x": "int"})
    assert hash(hashed(1)) == 7


def test_a_class_without_fields_and_a_recursive_value() -> None:
    _, empty = _pair({}, {})
    assert empty() == empty() and hash(empty()) == hash(empty()) and repr(empty()) == "Point()"
    _, ours = _pair({}, {"items": "list[Any]"})
    loop: list[Any] = []
    made = ours(loop)
    loop.append(made)
    assert repr(made) == "Point(items=[...])"


def test_classes_share_their_methods_and_hold_less() -> None:
    """What it is for: a hundred classes made by ``frozen`` hold a third less than the dataclass's."""
    held = {}
    for name, decorate in (("dataclass", dataclass(frozen=True)), ("frozen", frozen)):
        tracemalloc.start()
        made: list[type] = [decorate(type(f"C{i}", (), {"__annotations__": {f"f{j}": "int" for j in range(5)},
                                            "__module__": __name__})) for i in range(100)]
        held[name] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert made[0](1, 2, 3, 4, 5) == made[0](1, 2, 3, 4, 5)
    (reference, ours), (other_reference, other) = _pair(*PLAIN), _pair(*HIDDEN)
    for method in ("__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        assert getattr(ours, method) is getattr(other, method)
        assert getattr(reference, method) is not getattr(other_reference, method)
    assert held["frozen"] < 0.7 * held["dataclass"], held  # 660 against 1,110 KB when written
