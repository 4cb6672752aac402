"""The suite's own scheduling (tests/conftest.py): the long files it runs first are files of this suite."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONG_FIRST, long_first_rank

ROOT = Path(__file__).resolve().parent.parent


def test_every_long_file_listed_exists_once() -> None:
    missing = [path for path in LONG_FIRST if not (ROOT / path).is_file()]
    assert missing == [], f"tests/conftest.py LONG_FIRST names files that are gone: {missing}"
    assert len(set(LONG_FIRST)) == len(LONG_FIRST)


class _Item:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid


def test_listed_files_come_first_in_their_order_and_the_rest_keep_theirs() -> None:
    items = [_Item(nodeid) for nodeid in (
        "tests/a/test_short.py::test_one",
        f"{LONG_FIRST[1]}::test_b",
        "tests/b/test_other.py::test_two",
        f"{LONG_FIRST[0]}::test_a[1]",
        f"{LONG_FIRST[1]}::test_a",
    )]
    items.sort(key=long_first_rank)  # type: ignore[arg-type]  # only its nodeid is read
    assert [item.nodeid for item in items] == [
        f"{LONG_FIRST[0]}::test_a[1]", f"{LONG_FIRST[1]}::test_b", f"{LONG_FIRST[1]}::test_a",
        "tests/a/test_short.py::test_one", "tests/b/test_other.py::test_two",
    ]
