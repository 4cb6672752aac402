"""History read by time on a real store file: the selection, the start found by bisection, late records, the
events index, and the store's own range read and the read-only reader agreeing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest

from edge_agent.config.store import StoreConfig
from edge_agent.reading import Event, Priority, Quality, Reading, Record
from edge_agent.store.history import SLACK_S, HistoryReader, Sample, Selection, count_range, seq_floor
from edge_agent.store.rows import StoredRecord
from edge_agent.store.series import StoreUnreadable
from edge_agent.store.store import Store

T0 = 1_790_000_000.0
DAY = 86_400.0


def samples(items: Iterable[Sample | StoredRecord]) -> list[Sample]:
    """The readings a scan gave as plain tuples (a ``StoredRecord`` is a named tuple too: told apart by its type)."""
    return [item for item in items if not isinstance(item, StoredRecord)]


def filled(tmp_path: Path, records: list[Record]) -> Path:
    store = Store.open(StoreConfig(path=tmp_path / "store.db"))
    store.append(records)
    store.close()
    return tmp_path / "store.db"


def hourly(days: int) -> list[Record]:
    out: list[Record] = []
    for hour in range(days * 24):
        ts = T0 + hour * 3600.0
        out += [Reading("meter", "energy", float(hour), ts, "kWh"), Reading("meter", "voltage", 230.0, ts, "V"),
                Reading("counter", "count_in", 2, ts), Reading("counter", "temperature", 9.0, ts, "°C")]
        if hour % 24 == 0:
            out.append(Event("lighting.set_level", ts, Priority.INFO, "cabinet", data={"level": 100}))
    return out


def test_a_selection_reads_only_its_points_and_events(tmp_path: Path) -> None:
    db = filled(tmp_path, hourly(3))
    with HistoryReader(db) as reader:
        chosen = list(reader.records(T0, T0 + DAY, Selection(points=("energy", "count_*"),
                                                             events=("lighting.set_level",))))
        assert {(s.record.kind if isinstance(s.record, Event) else s.record.point) for s in chosen} == {
            "energy", "count_in", "lighting.set_level"}
        assert len(chosen) == 24 + 24 + 1
        unitless = list(reader.scan(T0, T0 + DAY, Selection(points=("count_*", "energy"), events=(), units=())))
        assert {item[2] for item in samples(unitless)} == {"count_in"}  # energy has a unit
        assert [s.seq for s in reader.events(T0, T0 + 3 * DAY, ("lighting.set_level",))] == [5, 102, 199]


def test_the_bisected_start_skips_earlier_records_and_loses_none_of_the_period(tmp_path: Path) -> None:
    db = filled(tmp_path, hourly(5))
    conn = sqlite3.connect(db)
    since = T0 + 3 * DAY
    floor = seq_floor(conn, since)
    first_ts = conn.execute("SELECT min(ts) FROM records WHERE seq>?", (floor,)).fetchone()[0]
    assert since - SLACK_S - 3600 <= first_ts <= since - SLACK_S  # starts a day (the slack) early, not at 0
    plain, bisected = Selection(points=("energy",), events=()), Selection(points=("energy",), events=(), bisect=True)
    assert count_range(conn, since, since + DAY, plain) == count_range(conn, since, since + DAY, bisected) == 24


def test_a_record_committed_late_is_read_and_one_stamped_far_ahead_is_not(tmp_path: Path) -> None:
    days = hourly(5)
    ahead = Reading("counter", "count_in", 9, T0 + 4 * DAY)  # a device clock two days ahead when committed
    db = filled(tmp_path, [*days[: len(days) * 2 // 5], ahead, *days[len(days) * 2 // 5:]])
    store = Store.open(StoreConfig(path=db))
    store.append([Reading("counter", "count_in", 7, T0 + DAY + 60)])  # an uplink replayed days after it was made
    store.close()
    window = Selection(points=("count_in",), bisect=True)
    with HistoryReader(db) as reader:
        late = [item[3] for item in samples(reader.scan(T0 + DAY, T0 + DAY + 3600, window))]
        assert late == [2, 7]  # the upper end is never cut: the late one, committed last, is read
        far = [item[3] for item in samples(reader.scan(T0 + 4 * DAY, T0 + 4 * DAY + 1, window))]
        assert far == [2]  # stamped more than SLACK_S after its neighbours: before the bisected start, missed
        every = Selection(points=("count_in",))
        found = [item[3] for item in samples(reader.scan(T0 + 4 * DAY, T0 + 4 * DAY + 1, every))]
        assert found == [9, 2]  # a read from the first record finds it (export does)


def test_the_store_and_the_reader_read_the_same_range(tmp_path: Path) -> None:
    db = filled(tmp_path, [*hourly(2), Reading("meter", "energy", None, T0 + 5, "kWh", quality=Quality.BAD)])
    store = Store.open(StoreConfig(path=db))
    selection = Selection(points=("energy",), events=())
    from_store = [s.seq for s in store.iter_history(T0, T0 + DAY, selection)]
    store.close()
    with HistoryReader(db) as reader:
        assert [s.seq for s in reader.records(T0, T0 + DAY, selection)] == from_store
        assert len(from_store) == 25  # the bad one too: the reports leave it out and count it


def test_an_interrupted_read_stops_with_a_plain_error(tmp_path: Path) -> None:
    db = filled(tmp_path, hourly(3))
    reader = HistoryReader(db)
    items = reader.scan(T0, T0 + 3 * DAY, Selection(points=("energy",)))
    next(items)
    reader.interrupt()  # as the agent's stop does, from another thread
    with pytest.raises(StoreUnreadable, match="interrupted"):
        list(items)
    reader.close()
    reader.interrupt()  # closed already: harmless


def test_a_missing_store_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnreadable, match="has not run with this config yet"):
        HistoryReader(tmp_path / "nothing.db")
