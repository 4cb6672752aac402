"""The agent's MQTT wire format (edge_agent/mqtt/packets.py): every packet it writes reads back the same, the byte
layouts the specification fixes, the stream cut into packets whatever the chunks it arrives in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.mqtt import packets as pk


def _split(packet: bytes) -> tuple[int, bytes]:
    """First byte and body of one whole packet."""
    reader = pk.PacketReader()
    reader.feed(packet)
    (only,) = list(reader.packets())
    return only


@pytest.mark.parametrize(("value", "encoded"), [
    (0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"), (16_384, b"\x80\x80\x01"),
    (2_097_151, b"\xff\xff\x7f"), (2_097_152, b"\x80\x80\x80\x01"), (pk.MAX_REMAINING, b"\xff\xff\xff\x7f"),
])
def test_remaining_length_edges(value: int, encoded: bytes) -> None:
    assert pk.encode_varint(value) == encoded
    assert pk.decode_varint(encoded) == (value, len(encoded))


def test_remaining_length_bounds() -> None:
    with pytest.raises(ValueError):
        pk.encode_varint(pk.MAX_REMAINING + 1)
    with pytest.raises(ValueError):
        pk.encode_varint(-1)
    with pytest.raises(pk.MalformedPacket):
        pk.decode_varint(b"\xff\xff\xff\xff\x01")  # a fifth byte
    with pytest.raises(pk.CutShort):
        pk.decode_varint(b"\x80\x80")


@given(st.integers(min_value=0, max_value=pk.MAX_REMAINING))
def test_varint_round_trip(value: int) -> None:
    encoded = pk.encode_varint(value)
    assert pk.decode_varint(encoded) == (value, len(encoded))


def test_a_body_of_128_bytes_takes_two_length_bytes() -> None:
    packet = pk.encode_publish(pk.Publish("t", b"x" * (128 - 3)), mqtt5=False)  # topic: 2 + 1 bytes
    assert packet[:3] == b"\x30\x80\x01" and len(packet) == 3 + 128
    assert _split(packet)[1] == packet[3:]


def test_connect_311_bytes_as_the_specification_lays_them_out() -> None:
    packet = pk.encode_connect(pk.Connect("gw-1", keepalive=60, clean=False, username="u", password="p",
                                          will_topic="s", will_payload=b"off", will_qos=1, will_retain=True))
    flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04  # user name, password, will retain, will QoS 1, will
    body = b"\x00\x04MQTT\x04" + bytes([flags]) + b"\x00\x3c" + b"\x00\x04gw-1" + b"\x00\x01s\x00\x03off"
    body += b"\x00\x01u\x00\x01p"
    assert packet == b"\x10" + bytes([len(body)]) + body


@pytest.mark.parametrize("connect", [
    pk.Connect("gw", mqtt5=True, properties={pk.SESSION_EXPIRY_INTERVAL: 604_800}),
    pk.Connect("gw", keepalive=30, clean=True, mqtt5=True, properties={pk.SESSION_EXPIRY_INTERVAL: 0},
               will_topic="st", will_payload=b'{"online": false}', will_qos=1, will_retain=True),
    pk.Connect("gw", keepalive=0, clean=True, username="only-a-name"),
    pk.Connect("é-client", keepalive=65_535, username="u", password="pässword"),
])
def test_connect_round_trip(connect: pk.Connect) -> None:
    first, body = _split(pk.encode_connect(connect))
    assert first == 0x10
    assert pk.decode_connect(body) == connect


def test_connack_311_return_codes_read_as_mqtt5_names() -> None:
    names = {code: pk.reason_name(pk.connack_reason(code, mqtt5=False), pk.CONNACK) for code in range(6)}
    assert names == {0: "Success", 1: "Unsupported protocol version", 2: "Client identifier not valid",
                     3: "Server unavailable", 4: "Bad user name or password", 5: "Not authorized"}
    assert pk.connack_reason(0x87, mqtt5=True) == 0x87


@pytest.mark.parametrize("mqtt5", [False, True])
def test_connack_round_trip(mqtt5: bool) -> None:
    properties: pk.Properties = {pk.MAXIMUM_PACKET_SIZE: 8000, pk.SERVER_KEEP_ALIVE: 20} if mqtt5 else {}
    connack = pk.Connack(session_present=True, reason=0x87 if mqtt5 else 5, properties=properties)
    first, body = _split(pk.encode_connack(connack, mqtt5))
    assert first == 0x20
    assert pk.decode_connack(body, mqtt5) == connack


@pytest.mark.parametrize("mqtt5", [False, True])
@pytest.mark.parametrize("publish", [
    pk.Publish("fute/gw/readings", b'{"v": 1}', qos=1, mid=1),
    pk.Publish("fute/gw/status", b"", qos=1, retain=True, mid=65_535),
    pk.Publish("a/b", bytes(range(256)) * 100, qos=0),
    pk.Publish("ré/sumé", b"x", qos=1, dup=True, mid=7),
])
def test_publish_round_trip(publish: pk.Publish, mqtt5: bool) -> None:
    first, body = _split(pk.encode_publish(publish, mqtt5))
    assert first >> 4 == pk.PUBLISH
    assert pk.decode_publish(first, body, mqtt5) == publish


def test_publish_with_message_expiry_and_the_dup_flag() -> None:
    publish = pk.Publish("replay", b"r", qos=1, mid=300, properties={pk.MESSAGE_EXPIRY_INTERVAL: 300})
    packet = pk.encode_publish(publish, mqtt5=True)
    assert packet == b"\x32\x11\x00\x06replay\x01\x2c\x05\x02\x00\x00\x01\x2cr"
    again = pk.with_dup(packet)
    assert again[0] == 0x3A and again[1:] == packet[1:]
    assert pk.decode_publish(again[0], _split(again)[1], mqtt5=True).dup


def test_publish_qos_2_is_not_written() -> None:
    with pytest.raises(ValueError):
        pk.encode_publish(pk.Publish("t", b"", qos=2, mid=1), mqtt5=False)


def test_puback_with_and_without_a_reason() -> None:
    assert pk.encode_puback(10, mqtt5=False) == b"\x40\x02\x00\x0a"
    assert pk.encode_puback(10, mqtt5=True) == b"\x40\x02\x00\x0a"  # success: the reason may be left out
    assert pk.decode_puback(b"\x00\x0a", mqtt5=True) == (10, 0, {})
    refused = pk.encode_puback(10, mqtt5=True, reason=0x87, properties={0x1F: "no"})
    assert pk.decode_puback(_split(refused)[1], mqtt5=True) == (10, 0x87, {0x1F: "no"})
    assert pk.reason_name(0x87, pk.PUBACK) == "Not authorized" and pk.is_failure(0x87)
    assert pk.reason_name(0x10, pk.PUBACK) == "No matching subscribers" and not pk.is_failure(0x10)


@pytest.mark.parametrize("mqtt5", [False, True])
def test_subscribe_and_suback_round_trip(mqtt5: bool) -> None:
    topics = [("application/+/device/+/event/up", 1), ("fute/gw/commands/#", 0)]
    first, body = _split(pk.encode_subscribe(42, topics, mqtt5))
    assert first == 0x82  # SUBSCRIBE's reserved flags are 0010
    assert pk.decode_subscribe(body, mqtt5) == (42, topics)
    first, body = _split(pk.encode_suback(42, [1, 0x80], mqtt5))
    assert first == 0x90
    assert pk.decode_suback(body, mqtt5) == (42, [1, 0x80])
    assert [pk.reason_name(r, pk.SUBACK) for r in (0, 1, 0x80, 0x87)] == [
        "Granted QoS 0", "Granted QoS 1", "Unspecified error", "Not authorized"]


def test_disconnect_and_pings() -> None:
    assert pk.encode_disconnect(mqtt5=False) == b"\xe0\x00"
    assert pk.encode_disconnect(mqtt5=True) == b"\xe0\x00"
    assert pk.decode_disconnect(b"", mqtt5=True) == 0
    assert pk.decode_disconnect(_split(pk.encode_disconnect(mqtt5=True, reason=0x8E))[1], mqtt5=True) == 0x8E
    assert pk.reason_name(0x8E, pk.DISCONNECT) == "Session taken over"
    assert pk.reason_name(0, pk.DISCONNECT) == "Normal disconnection"
    assert pk.PING_REQUEST == b"\xc0\x00" and pk.PING_RESPONSE == b"\xd0\x00"


def test_every_kind_of_property_round_trips() -> None:
    properties: pk.Properties = {
        0x01: 1, 0x02: 4_294_967_295, 0x03: "application/json", 0x09: b"\x00\x01", 0x0B: 268_435_455,
        0x13: 65_535, 0x26: ("site", "Fontaine"), 0x27: 1 << 20,
    }
    encoded = pk.encode_properties(properties)
    assert pk.decode_properties(encoded, 0) == (properties, len(encoded))
    assert pk.encode_properties(None) == b"\x00"


def test_a_property_of_the_wrong_kind_or_unknown_is_refused() -> None:
    with pytest.raises(ValueError):
        pk.encode_properties({pk.MESSAGE_EXPIRY_INTERVAL: "soon"})
    with pytest.raises(ValueError):
        pk.encode_properties({0x7F: 1})
    with pytest.raises(pk.MalformedPacket):
        pk.decode_properties(b"\x02\x7f\x00", 0)
    with pytest.raises(pk.MalformedPacket):
        pk.decode_properties(b"\x05\x02\x00", 0)  # longer than the bytes there


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8), st.data())
def test_the_reader_cuts_a_stream_into_packets_whatever_the_chunks(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(pk.encode_publish(pk.Publish("t", p, qos=1, mid=i + 1), mqtt5=True)
                      for i, p in enumerate(payloads))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = pk.PacketReader()
    out = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        reader.feed(stream[start:end])
        out += [pk.decode_publish(first, body, mqtt5=True).payload for first, body in reader.packets()]
    assert out == payloads
