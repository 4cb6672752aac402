"""The device book: the last value of each point of each device, as ``status`` shows it, packed."""

from __future__ import annotations

import gc
import tracemalloc

from edge_agent.control.book import MAX_UNKNOWN_DEVICES, DeviceBook
from edge_agent.reading import Event, Priority, Quality, Reading, Record
from tests.support.memory import traced

POINTS = ("temperature", "humidity", "battery_voltage", "fill_level", "distance", "tilt", "rssi", "snr",
          "spreading_factor", "frequency", "gateways", "f_cnt", "battery", "angle", "status", "counter")


def _commit(book: DeviceBook, records: list[Record]) -> None:
    book.on_committed(records, list(range(len(records))))


def test_each_point_keeps_its_last_value_in_the_order_first_heard() -> None:
    book = DeviceBook(["meter", "bin"])
    _commit(book, [Reading("meter", "power", 120.5, 10.0, "W"), Reading("meter", "energy", 7, 10.0, "kWh"),
                   Reading("bin", "fill", 40, 11.0, "%", Quality.UNCERTAIN),
                   Reading("meter", "power", 130.0, 12.0, "W")])  # the meter again, later in the same commit
    _commit(book, [Reading("meter", "voltage", 230.1, 20.0, "V"), Reading("meter", "power", 99.0, 20.0, "W"),
                   Reading("meter", "power", 98.0, 20.5, "W", Quality.BAD)])  # twice in one commit: the later
    meter = book.get("meter")
    assert meter.values == {
        "power": {"value": 98.0, "unit": "W", "quality": "bad", "ts": 20.5},
        "energy": {"value": 7, "unit": "kWh", "quality": "good", "ts": 10.0},
        "voltage": {"value": 230.1, "unit": "V", "quality": "good", "ts": 20.0}}
    assert list(meter.values) == ["power", "energy", "voltage"]
    assert meter.value("energy") == {"value": 7, "unit": "kWh", "quality": "good", "ts": 10.0}
    assert meter.value("current") is None
    assert meter.last_seen == 20.5
    assert book.get("bin").values == {"fill": {"value": 40, "unit": "%", "quality": "uncertain", "ts": 11.0}}


def test_a_new_point_heard_twice_in_its_first_commit_keeps_the_later() -> None:
    book = DeviceBook(["lamp"])
    _commit(book, [Reading("lamp", "dim", 30, 1.0, "%"), Reading("lamp", "on", True, 1.0),
                   Reading("lamp", "dim", 60, 2.0, "%"), Reading("lamp", "note", None, 2.0)])
    assert book.get("lamp").values == {
        "dim": {"value": 60, "unit": "%", "quality": "good", "ts": 2.0},
        "on": {"value": True, "unit": None, "quality": "good", "ts": 1.0},
        "note": {"value": None, "unit": None, "quality": "good", "ts": 2.0}}


def test_events_are_counted_and_do_not_move_last_seen() -> None:
    book = DeviceBook(["meter"])
    _commit(book, [Reading("meter", "power", 1.0, 5.0), Event("device_offline", 9.0, Priority.WARNING, "meter"),
                   Event("agent_started", 9.5)])
    seen = book.get("meter")
    assert (seen.events, seen.last_event, seen.last_seen) == (1, "device_offline", 5.0)
    _commit(book, [Reading("meter", "power", 2.0, 3.0)])  # an older reading committed late
    assert seen.last_seen == 5.0
    assert seen.values["power"]["value"] == 2.0


def test_a_device_never_heard_shows_nothing_and_unknown_devices_are_bounded() -> None:
    book = DeviceBook(["meter"])
    assert (book.get("meter").values, book.get("meter").last_seen) == ({}, None)
    assert book.get("nobody").values == {}
    _commit(book, [Reading(f"stray-{i}", "x", i, 1.0) for i in range(MAX_UNKNOWN_DEVICES + 10)])
    assert book.get("stray-0").values == {"x": {"value": 0, "unit": None, "quality": "good", "ts": 1.0}}
    assert book.get(f"stray-{MAX_UNKNOWN_DEVICES + 5}").values == {}


def test_devices_that_hear_the_same_points_share_one_layout_and_unused_ones_are_forgotten() -> None:
    names = [f"node-{i}" for i in range(500)]
    book = DeviceBook(names)
    for name in names:
        _commit(book, [Reading(name, point, 1.5, 100.0) for point in POINTS])
    assert book.layouts() == 2  # no point yet, and the sixteen
    for name in names:  # an alarm appears on each in turn: they move to a layout with it
        _commit(book, [Reading(name, "alarm", True, 200.0), Reading(name, "temperature", 2.5, 200.0)])
        gc.collect()
        assert book.layouts() == (3 if name != names[-1] else 2)  # the sixteen's, until its last device leaves
    assert book.get("node-7").values["alarm"] == {"value": True, "unit": None, "quality": "good", "ts": 200.0}
    assert book.get("node-7").values["temperature"]["value"] == 2.5
    assert list(book.get("node-7").values) == [*POINTS, "alarm"]


def test_five_hundred_nodes_of_sixteen_points_keep_about_a_kilobyte_each() -> None:
    """The book as a commune's LoRaWAN nodes fill it: each uplink's readings share their time and their units.
    Kept as the readings in a dictionary per device, this took 2,472 bytes a device; packed, 921."""
    names = [f"node-{i:03d}" for i in range(500)]
    units = ("°C", "%", "V", "%", "mm", "°", "dBm", "dB", None, "Hz", None, None, "%", "°", None, None)
    with traced():
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        book = DeviceBook(names)
        empty = tracemalloc.get_traced_memory()[0]
        for uplink in range(3):
            for n, name in enumerate(names):
                ts = 1_790_000_000.0 + uplink * 600 + n
                _commit(book, [Reading(name, point, float(n + uplink + k) + 0.5, ts, unit)
                               for k, (point, unit) in enumerate(zip(POINTS, units, strict=True))])
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - empty
        assert empty - before < 200_000
    per_device = held / len(names)
    assert per_device < 1_100, f"{per_device:.0f} bytes a device"
    assert book.get("node-042").values["fill_level"] == {"value": 47.5, "unit": "%", "quality": "good",
                                                         "ts": 1_790_000_000.0 + 1200 + 42}
