"""JSON events read without protobuf give what protobuf's own JSON parser gives, and protobuf stays unloaded."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.lorawan.events import EventError, Topic
from edge_agent.lorawan.events_json import parse_json_event
from edge_agent.lorawan.events_protobuf import parse_protobuf_event
from tests.lorawan.support import APP, uplink_event

EUI = "a84041000181c5e1"
_INTS = st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 5000).map(str), st.integers(0, 100).map(float))
_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False),
              st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8)


def _both(event: str, document: object) -> tuple[object, object]:
    """What each parser makes of one message: the event, or the EventError class."""
    topic = Topic(APP, EUI, event)
    payload = json.dumps(document).encode()
    results = []
    for parse in (lambda: parse_json_event(topic, payload), lambda: parse_protobuf_event(topic, payload, "json")):
        try:
            results.append(parse())
        except EventError:
            results.append(EventError)
    return results[0], results[1]


@settings(max_examples=150, deadline=None)
@given(drawn=st.data())
def test_uplinks_read_as_protobuf_reads_them(drawn: st.DataObject) -> None:
    f_cnt, f_port, data = drawn.draw(_INTS), drawn.draw(st.integers(0, 223)), drawn.draw(st.binary(max_size=20))
    rssi = drawn.draw(st.lists(st.integers(-130, -20), max_size=3))
    snr = drawn.draw(st.sampled_from([-7.5, 0.0, 3.2, 9.0]))
    obj = drawn.draw(st.one_of(st.none(), st.dictionaries(st.text(min_size=1, max_size=6), _VALUES, max_size=4)))
    snake, with_time = drawn.draw(st.booleans()), drawn.draw(st.booleans())
    event = uplink_event(EUI, data.hex(), f_cnt=0, f_port=f_port)
    event["fCnt"] = f_cnt
    event["rxInfo"] = [{"gatewayId": f"00{index:014x}", "rssi": value, "snr": snr} for index, value in enumerate(rssi)]
    if obj is None:
        del event["object"]
    else:
        event["object"] = obj
    if not with_time:
        del event["time"]
    if snake:
        event["f_cnt"] = event.pop("fCnt")
        event["deduplication_id"] = event.pop("deduplicationId")
    ours, theirs = _both("up", event)
    assert ours == theirs


@pytest.mark.parametrize(("event", "document"), [
    ("up", {"fCnt": -1}), ("up", {"fCnt": 1.5}), ("up", {"fCnt": "x"}), ("up", {"fPort": True}),
    ("up", {"rxInfo": 3}), ("up", {"rxInfo": [{"rssi": "loud"}]}), ("up", {"data": "not base64!"}),
    ("up", {"time": "yesterday"}), ("up", {"object": [1, 2]}), ("up", {"confirmed": "yes"}),
    ("up", {"deviceInfo": {"devEui": "0000000000000001"}}), ("up", {"fCnt": 2**33}),
    ("status", {"batteryLevel": 87.5, "margin": 7}), ("status", {"externalPowerSource": True}),
    ("status", {"batteryLevel": "full"}), ("ack", {"queueItemId": "q1", "acknowledged": True, "fCntDown": 4}),
    ("txack", {"queueItemId": "q2", "downlinkId": 9, "fCntDown": "5", "gatewayId": "0016c001ff10a235"}),
    ("log", {"level": "ERROR", "code": "DOWNLINK_PAYLOAD_SIZE", "description": "too big", "context": {"a": "b"}}),
    ("log", {"level": 99, "code": 1234}), ("log", {"level": "LOUD"}), ("log", {"context": {"a": 1}}),
    ("join", {"devAddr": "01f2a3b4"}), ("up", {"data": "AQI"}), ("up", {"data": "-_8="}),
])
def test_other_events_and_bad_fields_as_protobuf_reads_them(event: str, document: dict[str, Any]) -> None:
    ours, theirs = _both(event, document)
    assert ours == theirs


def test_a_json_site_never_loads_protobuf() -> None:
    code = (
        "import sys, json\n"
        "from edge_agent.lorawan.lorawan_service import LorawanService\n"
        "from edge_agent.lorawan.event_parsing import parse_event\n"
        "from edge_agent.lorawan.events import parse_topic\n"
        f"topic = parse_topic('application/{APP}/device/{EUI}/event/up')\n"
        "event = parse_event(topic, json.dumps({'deduplicationId': 'd-1', 'deviceInfo': {'devEui': topic.dev_eui},"
        " 'fCnt': 3, 'fPort': 2, 'data': 'AQI=', 'object': {'a': 1}}).encode(), 'json')\n"
        "assert event.object == {'a': 1.0}, event\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('google', 'chirpstack_api', 'grpc')))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
