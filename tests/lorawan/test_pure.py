"""The pure parts: event parsing, frame counters, dedup bound, downlink tracking."""

from __future__ import annotations

import json
import tracemalloc
import uuid
from pathlib import Path

import pytest

from edge_agent.lorawan.downlinks import DownlinkStatus, DownlinkTicket, DownlinkTracker
from edge_agent.lorawan.event_parsing import parse_event
from edge_agent.lorawan.events import Ack, EventError, Log, TxAck, UplinkFrame, parse_topic
from edge_agent.lorawan.uplinks import Dedup, check_fcnt
from tests.lorawan.support import APP, encode, event_topic, uplink_event
from tests.support.memory import traced

EUI = "a84041000181c5e1"


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_uplink_event_parses_the_same_in_both_encodings(encoding: str) -> None:
    event = uplink_event(EUI, "01755c", f_cnt=42, f_port=85, rssi=-100, snr=-3.5, sf=12)
    parsed = parse_event(parse_topic(event_topic(EUI, "up")), encode(event, "up", encoding), encoding)  # type: ignore[arg-type]
    assert isinstance(parsed, UplinkFrame)
    assert (parsed.f_cnt, parsed.f_port, parsed.data, parsed.application_id) == (42, 85, b"\x01\x75\x5c", APP)
    assert (parsed.radio.rssi, parsed.radio.snr, parsed.radio.spreading_factor) == (-100, -3.5, 12)
    assert parsed.radio.gateways == 2 and parsed.radio.frequency == 868300000


def test_fport_zero_uplink_with_empty_data_and_no_time() -> None:
    event = uplink_event(EUI, "", f_cnt=1, f_port=0)
    del event["time"]
    parsed = parse_event(parse_topic(event_topic(EUI, "up")), json.dumps(event).encode(), "json")
    assert isinstance(parsed, UplinkFrame) and parsed.data == b"" and parsed.time is None


@pytest.mark.parametrize("payload", [b"", b"null", b"{\"fCnt\": -1}", b"{\"fCnt\": 1.5}", b"{\"rxInfo\": 3}",
                                     b"[" * 5000, b"{\"deviceInfo\": {\"devEui\": \"0000000000000001\"}}"])
def test_bad_json_is_an_event_error(payload: bytes) -> None:
    with pytest.raises(EventError):
        parse_event(parse_topic(event_topic(EUI, "up")), payload, "json")


def test_bad_protobuf_is_an_event_error() -> None:
    with pytest.raises(EventError):
        parse_event(parse_topic(event_topic(EUI, "up")), b"\xff\xff\xff\xff\x0f", "protobuf")


def test_topics() -> None:
    topic = parse_topic(f"application/{APP}/device/A84041000181C5E1/event/up")
    assert topic.dev_eui == EUI
    assert parse_event(parse_topic(event_topic(EUI, "location")), b"{}", "json") is None
    for bad in ("application/x/device/123/event/up", "foo", f"application/{APP}/device/{EUI}/command/down"):
        with pytest.raises(EventError):
            parse_topic(bad)


def test_log_with_an_unknown_enum_number() -> None:
    payload = json.dumps({"level": 99, "code": 1234, "description": "x", "context": {"a": "b"}}).encode()
    parsed = parse_event(parse_topic(event_topic(EUI, "log")), payload, "json")
    assert isinstance(parsed, Log) and parsed.level == "99" and parsed.code == "1234"


def test_frame_counter_checks() -> None:
    assert check_fcnt(None, 5).lost == 0
    assert check_fcnt(5, 6).lost == 0
    assert check_fcnt(5, 9).lost == 3
    assert check_fcnt(5, 5).repeated
    assert check_fcnt(500, 2).reset
    wrapped = check_fcnt(2**32 - 2, 1)
    assert not wrapped.reset and wrapped.lost == 2


def test_dedup_is_bounded() -> None:
    dedup = Dedup(size=3)
    assert [dedup.seen(k) for k in "abca"] == [False, False, False, True]
    for key in "defg":
        dedup.seen(key)
    assert len(dedup) == 3
    assert dedup.seen("b") is False  # forgotten: the memory is bounded


def test_dedup_knows_a_uuid_in_either_case_and_keeps_other_ids_as_text() -> None:
    dedup = Dedup(size=8)
    uplink = "0f8b7c5e-3a2d-4e1f-9b6a-5c4d3e2f1a0b"
    assert dedup.seen(uplink) is False
    assert dedup.seen(uplink.upper()) is True  # one UUID, however it is written
    assert dedup.seen(uplink.replace("-", "")) is False  # not a UUID's canonical text: another id
    assert dedup.seen(uplink + "\n") is False  # nor with a newline after it
    assert dedup.seen("0f8b7c5e-3a2d-4e1f-9b6a-5c4d3e2f1a0c") is False  # one digit apart
    lookalikes = ["0f8b7c5e-3a2d-4e1f-9b6a-5c4d3e2f1a0g", "0f8b7c5e-3a2d-4e1f-9b6a-5c4d3e2f1_0b",
                  "0f8b7c5e-3a2d-4e1f-9b6a-5c4d3e2f1\u0661\u0660b"]  # a letter past f, "_", Arabic-Indic digits
    assert [dedup.seen(key) for key in lookalikes] == [False, False, False]
    assert [dedup.seen(key) for key in lookalikes] == [True, True, True]
    assert dedup.seen("") is False and dedup.seen("") is False  # no id: never a duplicate


def test_dedup_full_of_chirpstack_ids_stays_small() -> None:
    """4,096 ids, as a gateway holds once it has heard that many uplinks (82 minutes at the bench's commune rate):
    the set and the ring of numbers, not the ids' text in an ordered dict (634 KiB measured for that). Each id is
    decoded from bytes as it is heard, as the intake parses it from a message, so the text is the memory's alone to
    keep or to drop."""
    raw = [str(uuid.UUID(int=(n * 0x9E3779B97F4A7C15_F39CC0605CEDC834) % (1 << 128))).encode() for n in range(1, 4097)]
    with traced():
        before, _ = tracemalloc.get_traced_memory()
        dedup = Dedup(size=4096)
        for key in raw:
            dedup.seen(key.decode())
        held = tracemalloc.get_traced_memory()[0] - before
    assert len(dedup) == 4096
    assert all(dedup.seen(key.decode()) for key in raw[::97])
    assert held < 400 * 1024, f"{held} bytes for 4,096 ids"


def _ticket(ticket_id: str, confirmed: bool = True) -> DownlinkTicket:
    return DownlinkTicket(id=ticket_id, device="d", dev_eui=EUI, command="switch", value=True, f_port=85,
                          data_hex="08ffff", confirmed=confirmed, via="mqtt", created=0.0, expires_at=100.0)


def test_downlink_tracker_states() -> None:
    tracker = DownlinkTracker(max_tickets=3)
    tracker.add(_ticket("a"))
    tracker.add(_ticket("b", confirmed=False))
    assert tracker.on_event(TxAck(EUI, "a", 1, 7, "gw"), 1.0).status == DownlinkStatus.SENT  # type: ignore[union-attr]
    assert tracker.on_event(TxAck(EUI, "b", 2, 8, "gw"), 1.0).status == DownlinkStatus.DELIVERED  # type: ignore[union-attr]
    assert tracker.on_event(Ack(EUI, "a", True, 7), 2.0).status == DownlinkStatus.DELIVERED  # type: ignore[union-attr]
    assert tracker.on_event(Ack(EUI, "a", False, 7), 3.0) is None  # final states do not move
    assert tracker.on_event(Ack(EUI, "zzz", True, 7), 3.0) is None
    assert tracker.on_event(Log(EUI, "INFO", "X", "", {"deviceQueueItemId": "a"}), 3.0) is None
    tracker.add(_ticket("c"))
    assert [t.id for t in tracker.expire(99.0)] == []
    assert [t.id for t in tracker.expire(100.0)] == ["c"]
    for key in "defg":
        tracker.add(_ticket(key))
    assert len(tracker.all()) == 3


def test_doctor_flags_qos_zero_and_encoding_mismatch(tmp_path: Path) -> None:
    from edge_agent.lorawan.config import ChirpstackConfig
    from edge_agent.lorawan.doctor import check_chirpstack, check_chirpstack_text

    default = '[integration]\nenabled = ["mqtt"]\n[integration.mqtt]\nserver = "tcp://$MQTT_BROKER_HOST:1883/"\n'
    findings = {f.check: f for f in check_chirpstack_text(default, ChirpstackConfig())}
    assert not findings["chirpstack_qos"].ok and "qos=1" in findings["chirpstack_qos"].message
    assert findings["chirpstack_mqtt_integration"].ok and findings["chirpstack_encoding"].ok
    good = default + "qos = 1\njson = false\n"
    findings = {f.check: f for f in check_chirpstack_text(good, ChirpstackConfig(encoding="protobuf"))}
    assert all(f.ok for f in findings.values())
    (missing,) = check_chirpstack(ChirpstackConfig(), tmp_path / "absent.toml")
    assert not missing.ok


def test_device_and_chirpstack_config_checks() -> None:
    from pydantic import ValidationError

    from edge_agent.lorawan.config import ChirpstackConfig, LorawanDeviceConfig

    device = LorawanDeviceConfig.model_validate(
        {"driver": "lorawan", "name": "b", "dev_eui": "A84041000181C5E1", "codec": "dragino_ldds75",
         "bin": {"d_empty_mm": 1500, "d_full_mm": 250}})
    assert device.dev_eui == "a84041000181c5e1"
    for bad, needle in (({"codec": "nope"}, "shipped codecs and site codecs"),
                        ({"bin": {"d_empty_mm": 200, "d_full_mm": 250}}, "d_full_mm must be smaller"),
                        ({"silent_after": 0.5}, "greater than or equal")):
        with pytest.raises(ValidationError, match=needle):
            LorawanDeviceConfig.model_validate(
                {"driver": "lorawan", "name": "b", "dev_eui": "a84041000181c5e1", "codec": "dragino_ldds75", **bad})
    with pytest.raises(ValidationError, match="grpc_address"):
        ChirpstackConfig.model_validate({"api_token_file": "/etc/token"})
    for not_an_id in ("commune", "0f4e2a6c-1b8d-4c3e-9a7f-5d2b8e6c4a10\n"):
        with pytest.raises(ValidationError, match="UUID"):
            ChirpstackConfig.model_validate({"application_ids": [not_an_id]})
    taken = ChirpstackConfig.model_validate({"application_ids": ["0F4E2A6C-1B8D-4C3E-9A7F-5D2B8E6C4A10"]})
    assert taken.application_ids == ["0f4e2a6c-1b8d-4c3e-9a7f-5d2b8e6c4a10"]


def test_a_device_keeps_the_radio_of_its_last_uplinks_newest_first() -> None:
    from edge_agent.lorawan.config import LorawanDeviceConfig
    from edge_agent.lorawan.events import Radio, Reception
    from edge_agent.lorawan.uplinks import RECENT_UPLINKS, DeviceTable

    device = LorawanDeviceConfig.model_validate({"driver": "lorawan", "name": "bin", "dev_eui": "24e124713b000001",
                                                 "codec": "milesight_em310_udl"})
    table = DeviceTable([device], now_mono=0.0)
    track = table.by_name("bin")
    assert track is not None and track.signal() == []
    for f_cnt in range(1, RECENT_UPLINKS + 4):
        radio = Radio(gateway_id="gw", rssi=-f_cnt, snr=7.5, receptions=(Reception("gw", -f_cnt, 7.5),))
        table.heard(track, f_cnt=f_cnt, radio=radio, wall=1000.0 + f_cnt, mono=float(f_cnt))
    shown = track.signal()
    assert [entry["f_cnt"] for entry in shown] == list(range(RECENT_UPLINKS + 3, 3, -1))
    assert shown[0]["gateways"] == [{"gateway": "gw", "rssi": -(RECENT_UPLINKS + 3), "snr": 7.5}]
    assert [entry["f_cnt"] for entry in track.signal(last=2)] == [RECENT_UPLINKS + 3, RECENT_UPLINKS + 2]
