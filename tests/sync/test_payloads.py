"""Batch payloads: versioned JSON, byte-bounded, UTC timestamps, unsynchronised clocks flagged."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from edge_agent.backoff import Backoff
from edge_agent.reading import Event, Priority, Reading
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.lanes import Lane
from edge_agent.sync.payloads import build_batch, iso_utc


def stored(seq: int, value: object = 1.5, synced: bool = True) -> StoredRecord:
    return StoredRecord(seq, Reading("m-1", "voltage", value, 1_790_000_000.25, "V", clock_synced=synced), False)  # type: ignore[arg-type]


def test_iso_utc_has_milliseconds_and_z() -> None:
    assert iso_utc(1_790_000_000.25) == "2026-09-21T14:13:20.250Z"


def test_iso_utc_writes_the_instant_datetime_gives_to_the_millisecond() -> None:
    """``iso_utc`` splits the time into its second (cached) and its fraction: it must give what
    ``datetime.fromtimestamp`` gives (microseconds rounded half to even, then cut to milliseconds) everywhere,
    at the edges of a millisecond, of a second (a fraction rounding up to the next), of a day, of a year."""
    def expected(ts: float) -> str:
        moment = datetime.fromtimestamp(ts, tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    draw = random.Random(20261130)
    edges = [0.0, 0.0005, 0.9995, 0.9999994, 0.9999995, 0.9999996, 59.9999999, 86_399.9999996,
             1_790_000_000.0, 1_790_000_000.0005, 1_790_000_000.9995, 1_790_000_000.9999995, 1_767_225_599.9999996,
             253_402_214_399.999]
    instants = edges + [draw.uniform(0, 4_102_444_800.0) for _ in range(20_000)]
    instants += [round(draw.uniform(1.7e9, 1.8e9), 3) for _ in range(20_000)]  # poll times, to the millisecond
    instants += [draw.randrange(1_700_000_000, 1_800_000_000) + n / 1000 + 0.0005 for n in range(1000)]
    wrong = [(ts, iso_utc(ts), expected(ts)) for ts in instants if iso_utc(ts) != expected(ts)]
    assert not wrong, wrong[:5]


def test_batch_carries_records_in_order_with_contract_fields() -> None:
    batch = build_batch("gw-1", Lane.LIVE, [stored(1), stored(2, synced=False)], 10_000, 1_790_000_001.0)
    body = json.loads(batch.payload)
    assert body["v"] == 1 and body["gateway"] == "gw-1" and body["lane"] == "live"
    assert [r["seq"] for r in body["records"]] == [1, 2] == batch.seqs
    first, second = body["records"]
    assert first == {"seq": 1, "ts": "2026-09-21T14:13:20.250Z", "device": "m-1", "point": "voltage",
                     "value": 1.5, "unit": "V", "quality": "good"}
    assert second["clock_synced"] is False


def test_batch_stops_at_the_byte_bound_without_splitting_a_record() -> None:
    records = [stored(i) for i in range(1, 200)]
    batch = build_batch("gw-1", Lane.LIVE, records, 2048, 0.0)
    assert len(batch.payload) <= 2048
    assert batch.seqs == list(range(1, len(batch.seqs) + 1))
    assert 5 < len(batch.seqs) < 199


def test_a_record_too_large_on_its_own_is_reported_not_sent() -> None:
    huge = stored(2, value="x" * 5000)
    batch = build_batch("gw-1", Lane.LIVE, [stored(1), huge, stored(3)], 2048, 0.0)
    assert batch.oversized == [2]
    assert batch.seqs == [1, 3]


def test_a_record_that_cannot_be_encoded_is_reported_and_never_stops_the_others() -> None:
    """A lone surrogate kept in an event, a time of 2**62 s or year 1, NaN as a time: reported with the reason,
    left out of the batch; the records around them are sent."""
    poison = [
        StoredRecord(2, Event("uplink_malformed", 1_790_000_000.0, message="bad \ud800 text"), False),
        stored(3, value=1.0),
        StoredRecord(4, Reading("m-1", "voltage", 1.0, float(2**62)), False),
        StoredRecord(5, Reading("m-1", "voltage", 1.0, -62_135_596_800.0), False),
        StoredRecord(6, Reading("m-1", "voltage", 1.0, float("nan")), False),
    ]
    batch = build_batch("gw-1", Lane.LIVE, [stored(1), *poison, stored(7)], 100_000, 0.0)
    assert batch.seqs == [1, 3, 7]
    assert [seq for seq, _ in batch.unencodable] == [2, 4, 5, 6]
    assert "UnicodeEncodeError" in batch.unencodable[0][1] and "outside 1970-9999" in batch.unencodable[1][1]
    assert [r["seq"] for r in json.loads(batch.payload)["records"]] == [1, 3, 7]


def test_events_carry_priority_and_data() -> None:
    event = StoredRecord(7, Event("bin_full", 0.0, Priority.ALARM, device="bin-3", data={"fill": 91}), False)
    body = json.loads(build_batch("gw", Lane.EVENTS, [event], 4096, 0.0).payload)
    assert body["records"][0] == {"seq": 7, "ts": "1970-01-01T00:00:00.000Z", "event": "bin_full",
                                  "priority": "alarm", "device": "bin-3", "data": {"fill": 91}}


def test_non_finite_values_become_null() -> None:
    body = json.loads(build_batch("gw", Lane.LIVE, [stored(1, value=float("nan"))], 4096, 0.0).payload)
    assert body["records"][0]["value"] is None


def test_backoff_grows_exponentially_to_the_cap_with_full_jitter() -> None:
    fixed = Backoff(1.0, 30.0, spread=0.0)
    assert [fixed.next_delay() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    jittered = Backoff(1.0, 30.0, rand=lambda: 0.5)
    assert [jittered.next_delay() for _ in range(3)] == [0.5, 1.0, 2.0]
    jittered.reset()
    assert jittered.next_delay() == 0.5


def test_readings_written_directly_are_the_bytes_of_the_general_encoder() -> None:
    """The shortcut that writes a reading's JSON itself gives exactly what the JSON encoder gives, for every kind of
    value, unit, clock state and text (quotes, accents, control characters)."""
    from edge_agent.reading import Quality
    from edge_agent.sync.payloads import _dumps, encode_record, wire_record_json

    values: list[object] = [0.1, 231.20000000000002, -0.0, 1e300, 5e-324, 0, -7, 2**63 + 5, True, False, None,
                            float("nan"), float("inf"), "text \"quoted\" é"]
    texts = ["meter-1", 'a "b" \\ c', "été", "tab\there", "\u2028"]
    checked = 0
    for value in values:
        for text in texts:
            for unit in (None, "", "°C", text):
                for synced in (True, False):
                    for quality in Quality:
                        reading = Reading(text, f"p_{text}", value, 1_764_000_000.123, unit, quality, synced)  # type: ignore[arg-type]
                        stored = StoredRecord(seq=42, record=reading, sent=False)
                        expected = _dumps(wire_record_json(stored))
                        assert encode_record(stored) == expected, (value, text, unit)
                        checked += 1
    assert checked > 1000
