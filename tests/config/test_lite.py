"""The config models' stand-in for a process without pydantic: frozen records, their values kept inline."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from edge_agent.config.lite import BaseModel, Field
from tests.support.memory import traced

NAMES = ("name", "dev_eui", "codec", "description", "latitude", "longitude", "uplink_interval", "tags",
         "area", "street", "installed", "enabled")


def _model() -> type[BaseModel]:
    """A fresh class of twelve fields (each test its own: CPython shares a class's field names from its first
    record on)."""

    class Node(BaseModel):
        name: str
        dev_eui: str
        codec: str
        description: str = ""
        latitude: float = 0.0
        longitude: float = 0.0
        uplink_interval: float = 600.0
        tags: tuple[str, ...] = ()
        area: str = ""
        street: str = ""
        installed: str = ""
        enabled: bool = Field(default=True)

    return Node


def test_a_record_reads_compares_copies_and_dumps_its_fields() -> None:
    node = _model()
    a = node(name="bin-1", dev_eui="a84041000181c061", codec="dragino_ldds75", latitude=48.69)
    b = node.filled(dict(a))
    assert (a.name, a.latitude, a.enabled, a.tags) == ("bin-1", 48.69, True, ())
    assert a == b and hash(a) == hash(b)
    assert list(dict(a)) == list(NAMES)
    moved = a.model_copy(update={"latitude": 48.7})
    assert (moved.latitude, moved.name, a.latitude) == (48.7, "bin-1", 48.69)
    assert moved != a
    assert a.model_dump()["codec"] == "dragino_ldds75"
    assert repr(a).startswith("Node(name='bin-1', dev_eui='a84041000181c061', codec='dragino_ldds75'")
    with pytest.raises(TypeError, match="frozen"):
        a.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="unknown fields"):
        node(name="x", dev_eui="y", codec="z", colour="red")
    with pytest.raises(TypeError, match="dev_eui is required"):
        node(name="x", codec="z")


@pytest.mark.parametrize("build", ["filled", "init"])
def test_records_keep_their_values_inline_not_in_a_dictionary_each(build: str) -> None:
    """Two thousand records of twelve fields: 185 bytes each (a record's values inline, the names once for the
    class). The compiled form's records used to have their ``__dict__`` updated: a dictionary each, 528 bytes."""
    node = _model()
    values = [{name: f"{name}-{i}" for name in NAMES} for i in range(2000)]
    with traced():
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        records = [node.filled(v) for v in values] if build == "filled" else [node(**v) for v in values]
        gc.collect()
        each = (tracemalloc.get_traced_memory()[0] - before) / len(records)
    assert each < 260, f"{each:.0f} bytes a record"
    assert records[1999].street == "street-1999"
