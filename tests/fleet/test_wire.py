"""How the ingest reads the contract: batches (plain and deflated), status, replay answers, bad input."""

from __future__ import annotations

import json
import zlib

import pytest

from edge_agent.hypervisor.wire import (
    BadPayload,
    decode_batch,
    decode_response,
    decode_status,
    replay_request,
    topic_gateway,
)

BATCH = {"v": 1, "gateway": "gw-1", "lane": "live", "sent_at": "2026-11-28T10:00:00.000Z", "records": [
    {"seq": 7, "ts": "2026-11-28T09:59:59.500Z", "device": "m1", "point": "voltage", "value": 231.5, "unit": "V",
     "quality": "good"},
    {"seq": 8, "ts": "2026-11-28T09:59:59.600Z", "event": "door_open", "priority": "alarm", "device": "cab",
     "message": "opened"},
]}


def test_a_batch_becomes_rows_with_their_seqs() -> None:
    batch = decode_batch("gw-1", json.dumps(BATCH).encode())
    reading, event = batch.records
    assert (reading.seq, reading.kind, reading.device, reading.point, reading.value) == (7, "reading", "m1",
                                                                                       "voltage", 231.5)
    assert (event.seq, event.kind, event.event, event.priority, event.extra) == (8, "event", "door_open", "alarm",
                                                                               {"message": "opened"})
    assert reading.ts.microsecond == 500_000 and reading.ts.utcoffset() is not None


def test_a_deflated_batch_reads_the_same() -> None:
    plain = json.dumps(BATCH).encode()
    assert decode_batch("gw-1", zlib.compress(plain)) == decode_batch("gw-1", plain)


@pytest.mark.parametrize("payload", [
    b"not json", b"[1]", json.dumps({**BATCH, "v": 2}).encode(), json.dumps({**BATCH, "gateway": "gw-2"}).encode(),
    json.dumps({**BATCH, "records": [{"seq": "x", "ts": "2026-11-28T10:00:00Z"}]}).encode(),
    json.dumps({**BATCH, "records": [{"seq": 1, "ts": "yesterday", "device": "d", "point": "p"}]}).encode(),
    b"\x78\x9cgarbage",
])
def test_bad_payloads_are_refused_with_a_reason(payload: bytes) -> None:
    with pytest.raises(BadPayload):
        decode_batch("gw-1", payload)


def test_status_and_topic() -> None:
    status = decode_status("gw-1", b'{"v":1,"gateway":"gw-1","online":true,"backlog":3,"last_seq":99}')
    assert (status.online, status.backlog, status.last_seq) == (True, 3, 99)
    assert topic_gateway("region/fute/gw-1/readings") == ("gw-1", "readings")


def test_replay_request_follows_the_command_contract() -> None:
    topic, payload = replay_request("fute", "gw-1", 5, 9, request_id="abc", now=1_764_324_000.0)
    body = json.loads(payload)
    assert topic == "fute/gw-1/commands"
    assert body == {"v": 1, "id": "abc", "command": "replay", "sent_at": "2025-11-28T10:00:00.000Z",
                    "args": {"first": 5, "last": 9}}


def test_replay_answers() -> None:
    answer = decode_response("gw-1", b'{"v":1,"id":"abc","command":"replay","ok":true,'
                                     b'"result":{"first":5,"last":9,"count":0}}')
    assert answer is not None and answer.ok and (answer.first, answer.last, answer.count) == (5, 9, 0)
    assert decode_response("gw-1", b'{"v":1,"id":"x","command":"ping","ok":true,"result":{}}') is None
