"""Reading a point's day and the latest events back from a real store, as the page and the CLI do."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config.store import StoreConfig
from edge_agent.reading import Event, Priority, Quality, Reading
from edge_agent.store.series import StoreUnreadable, first_seq_at, open_reader, point_series, recent_events
from edge_agent.store.store import Store

T0 = 1_790_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(StoreConfig(path=tmp_path / "store.db", synchronous="normal"))
    records: list[Reading | Event] = []
    for minute in range(240):  # four hours, a reading a minute
        ts = T0 + minute * 60
        records.append(Reading("meter", "voltage", 230.0 + (minute % 10), ts, "V"))
        records.append(Reading("meter", "label", "text is not charted", ts))
        if minute % 60 == 0:
            records.append(Event("door_opened", ts, Priority.ALARM, "cabinet", f"door open at minute {minute}"))
    records.append(Reading("meter", "voltage", 9999.0, T0 + 30, "V", quality=Quality.BAD))
    store.append(records)
    return store


def test_the_first_record_of_a_time_is_found_by_bisection(store: Store) -> None:
    conn = open_reader(store.path)
    assert first_seq_at(conn, 0) == 1
    seq = first_seq_at(conn, T0 + 120 * 60)
    ts = conn.execute("SELECT ts FROM records WHERE seq=?", (seq,)).fetchone()[0]
    before = conn.execute("SELECT max(ts) FROM records WHERE seq<?", (seq,)).fetchone()[0]
    assert ts >= T0 + 120 * 60 > before
    assert first_seq_at(conn, T0 + 10 * 86_400) == conn.execute("SELECT max(seq) FROM records").fetchone()[0] + 1


def test_a_points_day_comes_in_buckets_without_bad_values(store: Store) -> None:
    conn = open_reader(store.path)
    buckets = point_series(conn, "meter", "voltage", T0, T0 + 4 * 3600, buckets=24)  # 10-minute buckets
    assert len(buckets) == 24
    assert all(b.count == 10 and b.low == 230.0 and b.high == 239.0 and b.mean == 234.5 for b in buckets)
    assert buckets[1].ts == T0 + 600
    assert point_series(conn, "meter", "label", T0, T0 + 4 * 3600) == [], "text is not a curve"
    later = point_series(conn, "meter", "voltage", T0 + 3 * 3600, T0 + 5 * 3600, buckets=12)
    assert sum(b.count for b in later) == 60


def test_the_latest_events_come_newest_first(store: Store) -> None:
    conn = open_reader(store.path)
    events = recent_events(conn, T0, limit=3)
    assert [e.message for _, e in events] == ["door open at minute 180", "door open at minute 120",
                                              "door open at minute 60"]
    assert [e.message for _, e in recent_events(conn, T0 + 150 * 60)] == ["door open at minute 180"]
    assert recent_events(conn, T0, device="meter") == []


def test_a_missing_store_is_said_in_plain_words(tmp_path: Path) -> None:
    with pytest.raises(StoreUnreadable, match="has not run with this config yet"):
        open_reader(tmp_path / "absent.db")
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreUnreadable, match="cannot read the store"):
        open_reader(tmp_path / "junk.db")


def test_the_last_value_of_each_point_and_each_devices_last_reading_come_from_the_window(tmp_path: Path) -> None:
    from edge_agent.store.view import StoreView

    store = Store.open(StoreConfig(path=tmp_path / "last.db", synchronous="normal"))
    try:
        store.append([Reading("old", "p", 1.0, T0, "V")])  # beyond the window below
        store.append([Reading(f"node-{i}", "level", float(i), T0 + i, "%") for i in range(700)])  # > one IN list
        store.append([Reading("meter", "voltage", 230.0, T0 + 50, "V"),
                      Reading("meter", "voltage", 231.0, T0 + 40, "V"),  # later in sequence, earlier in time
                      Event("door_opened", T0 + 90, Priority.ALARM, "meter", "open"),
                      Reading("meter", "on", True, T0 + 45)])
    finally:
        store.close()
    with StoreView.open(tmp_path / "last.db") as view:
        latest, seen = view.latest_readings(window=704)  # all but the first
    values = {(stored.record.device, stored.record.point): stored.record for stored in latest}
    assert len(latest) == 702 and ("old", "p") not in values and "old" not in seen
    assert [stored.seq for stored in latest] == sorted(stored.seq for stored in latest)
    assert values[("meter", "voltage")].value == 231.0, "the last stored, not the latest stamped"
    assert values[("meter", "on")].value is True and seen["meter"] == T0 + 50, "events are not readings"
    assert values[("node-699", "level")].value == 699.0 and seen["node-699"] == T0 + 699
