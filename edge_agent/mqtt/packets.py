"""MQTT 3.1.1 and 5 packets as bytes and back: pure functions, no socket, no thread.

Only what the agent's client and its tests use: CONNECT / CONNACK, PUBLISH with QoS 0 or 1 / PUBACK, SUBSCRIBE /
SUBACK, PINGREQ / PINGRESP and DISCONNECT, with MQTT 5 properties. ``PacketReader`` cuts a byte stream into packets.
A body is what follows the fixed header (first byte and remaining length). Reason codes are MQTT 5's; an MQTT 3.1.1
CONNACK return code maps onto the same names (``connack_reason``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field

from edge_agent.frozen import frozen

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = 8, 9, 10, 11, 12, 13, 14, 15

MAX_REMAINING = 268_435_455  # the largest remaining length four varint bytes hold

# MQTT 5 properties the agent reads or writes (the decoder knows every one, to step over the others).
MESSAGE_EXPIRY_INTERVAL = 0x02
SESSION_EXPIRY_INTERVAL = 0x11
SERVER_KEEP_ALIVE = 0x13
RECEIVE_MAXIMUM = 0x21
USER_PROPERTY = 0x26
MAXIMUM_PACKET_SIZE = 0x27

PING_REQUEST = bytes([PINGREQ << 4, 0])
PING_RESPONSE = bytes([PINGRESP << 4, 0])

PropertyValue = int | str | bytes | tuple[str, str]
Properties = dict[int, PropertyValue]

_BYTE, _TWO, _FOUR, _VARINT, _STRING, _BINARY, _PAIR = range(7)
_PROPERTY_TYPES = {
    0x01: _BYTE, 0x02: _FOUR, 0x03: _STRING, 0x08: _STRING, 0x09: _BINARY, 0x0B: _VARINT, 0x11: _FOUR,
    0x12: _STRING, 0x13: _TWO, 0x15: _STRING, 0x16: _BINARY, 0x17: _BYTE, 0x18: _FOUR, 0x19: _BYTE, 0x1A: _STRING,
    0x1C: _STRING, 0x1F: _STRING, 0x21: _TWO, 0x22: _TWO, 0x23: _TWO, 0x24: _BYTE, 0x25: _BYTE, 0x26: _PAIR,
    0x27: _FOUR, 0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}

# MQTT 5 reason code names (0x00 to 0x02 depend on the packet: see ``reason_name``).
_REASONS = {
    0x04: "Disconnect with will message", 0x10: "No matching subscribers", 0x11: "No subscription found",
    0x18: "Continue authentication", 0x19: "Re-authenticate", 0x80: "Unspecified error", 0x81: "Malformed packet",
    0x82: "Protocol error", 0x83: "Implementation specific error", 0x84: "Unsupported protocol version",
    0x85: "Client identifier not valid", 0x86: "Bad user name or password", 0x87: "Not authorized",
    0x88: "Server unavailable", 0x89: "Server busy", 0x8A: "Banned", 0x8B: "Server shutting down",
    0x8C: "Bad authentication method", 0x8D: "Keep alive timeout", 0x8E: "Session taken over",
    0x8F: "Topic filter invalid", 0x90: "Topic name invalid", 0x91: "Packet identifier in use",
    0x92: "Packet identifier not found", 0x93: "Receive maximum exceeded", 0x94: "Topic alias invalid",
    0x95: "Packet too large", 0x96: "Message rate too high", 0x97: "Quota exceeded", 0x98: "Administrative action",
    0x99: "Payload format invalid", 0x9A: "Retain not supported", 0x9B: "QoS not supported",
    0x9C: "Use another server", 0x9D: "Server moved", 0x9E: "Shared subscription not supported",
    0x9F: "Connection rate exceeded", 0xA0: "Maximum connect time", 0xA1: "Subscription identifiers not supported",
    0xA2: "Wildcard subscription not supported",
}
# MQTT 3.1.1 CONNACK return codes 1 to 5 as MQTT 5 reason codes.
_V3_CONNACK = {0: 0x00, 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87}


class MalformedPacket(ValueError):
    """Bytes that are not a valid packet of this kind."""


class CutShort(MalformedPacket):
    """Bytes that end before the value does (in a stream: the rest is still to come)."""


def reason_name(code: int, packet_type: int) -> str:
    """A reason code's name as the MQTT 5 specification gives it ("Not authorized", "Session taken over")."""
    if code == 0x00:
        return {SUBACK: "Granted QoS 0", DISCONNECT: "Normal disconnection"}.get(packet_type, "Success")
    if packet_type == SUBACK and code in (0x01, 0x02):
        return f"Granted QoS {code}"
    return _REASONS.get(code, f"Reason code {code:#04x}")


def is_failure(code: int) -> bool:
    return code >= 0x80


def connack_reason(code: int, mqtt5: bool) -> int:
    """The CONNACK's reason code; an MQTT 3.1.1 return code as the MQTT 5 code of the same meaning."""
    return code if mqtt5 else _V3_CONNACK.get(code, 0x80)


# -- primitives ------------------------------------------------------------------------------------

def encode_varint(value: int) -> bytes:
    """A Variable Byte Integer (the remaining length, some property values): 1 to 4 bytes."""
    if not 0 <= value <= MAX_REMAINING:
        raise ValueError(f"{value} does not fit a variable byte integer")
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | 0x80 if value else digit)
        if not value:
            return bytes(out)


def decode_varint(data: bytes | bytearray, pos: int = 0) -> tuple[int, int]:
    """The integer at ``pos`` and the position after it; MalformedPacket if cut short or longer than 4 bytes."""
    value = 0
    for shift in range(4):
        if pos >= len(data):
            raise CutShort("variable byte integer cut short")
        digit = data[pos]
        pos += 1
        value |= (digit & 0x7F) << (7 * shift)
        if not digit & 0x80:
            return value, pos
    raise MalformedPacket("variable byte integer longer than 4 bytes")


def _string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > 0xFFFF:
        raise ValueError("string longer than 65535 bytes")
    return struct.pack("!H", len(raw)) + raw


def _read_binary(data: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 2 > len(data):
        raise MalformedPacket("length cut short")
    (size,) = struct.unpack_from("!H", data, pos)
    end = pos + 2 + size
    if end > len(data):
        raise MalformedPacket("string cut short")
    return data[pos + 2:end], end


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    raw, pos = _read_binary(data, pos)
    try:
        return raw.decode(), pos
    except UnicodeDecodeError as exc:
        raise MalformedPacket("string not UTF-8") from exc


def _read_u16(data: bytes, pos: int) -> tuple[int, int]:
    if pos + 2 > len(data):
        raise MalformedPacket("two-byte integer cut short")
    return int(struct.unpack_from("!H", data, pos)[0]), pos + 2


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_varint(len(body)) + body


# -- properties ------------------------------------------------------------------------------------

def encode_properties(properties: Mapping[int, PropertyValue] | None) -> bytes:
    """The property length then each property (MQTT 5)."""
    parts = []
    for ident, value in (properties or {}).items():
        kind = _PROPERTY_TYPES.get(ident)
        if kind is None:
            raise ValueError(f"unknown property {ident:#04x}")
        parts.append(encode_varint(ident))
        if kind == _PAIR:
            if not isinstance(value, tuple):
                raise ValueError(f"property {ident:#04x} is a string pair")
            parts.append(_string(value[0]) + _string(value[1]))
        elif kind in (_STRING, _BINARY):
            if not isinstance(value, str | bytes):
                raise ValueError(f"property {ident:#04x} is a string")
            parts.append(_string(value))
        else:
            if not isinstance(value, int):
                raise ValueError(f"property {ident:#04x} is an integer")
            size = {_BYTE: "!B", _TWO: "!H", _FOUR: "!I"}.get(kind)
            parts.append(encode_varint(value) if size is None else struct.pack(size, value))
    body = b"".join(parts)
    return encode_varint(len(body)) + body


def decode_properties(data: bytes, pos: int) -> tuple[Properties, int]:
    """The properties at ``pos`` and the position after them. A property given twice (user properties) keeps
    its last value: the agent reads none of those."""
    length, pos = decode_varint(data, pos)
    end = pos + length
    if end > len(data):
        raise MalformedPacket("properties cut short")
    out: Properties = {}
    while pos < end:
        ident, pos = decode_varint(data, pos)
        kind = _PROPERTY_TYPES.get(ident)
        value: PropertyValue
        if kind is None:
            raise MalformedPacket(f"unknown property {ident:#04x}")
        if kind == _BYTE:
            if pos >= end:
                raise MalformedPacket("property cut short")
            value, pos = data[pos], pos + 1
        elif kind == _TWO:
            value, pos = _read_u16(data, pos)
        elif kind == _FOUR:
            if pos + 4 > end:
                raise MalformedPacket("property cut short")
            value, pos = int(struct.unpack_from("!I", data, pos)[0]), pos + 4
        elif kind == _VARINT:
            value, pos = decode_varint(data, pos)
        elif kind == _STRING:
            value, pos = _read_string(data, pos)
        elif kind == _BINARY:
            value, pos = _read_binary(data, pos)
        else:
            name, pos = _read_string(data, pos)
            text, pos = _read_string(data, pos)
            value = (name, text)
        out[ident] = value
    if pos != end:
        raise MalformedPacket("properties overrun their length")
    return out, pos


# -- CONNECT / CONNACK ---------------------------------------------------------------------------

@frozen
class Connect:
    client_id: str
    keepalive: int = 60
    clean: bool = False  # 3.1.1: clean session; 5: clean start
    mqtt5: bool = False
    username: str | None = None
    password: str | None = None
    will_topic: str | None = None
    will_payload: bytes = b""
    will_qos: int = 0
    will_retain: bool = False
    properties: Properties = field(default_factory=dict)


def encode_connect(c: Connect) -> bytes:
    flags = 0x02 if c.clean else 0
    if c.will_topic is not None:
        flags |= 0x04 | (c.will_qos << 3) | (0x20 if c.will_retain else 0)
    if c.username is not None:
        flags |= 0x80
        if c.password is not None:
            flags |= 0x40
    parts = [_string("MQTT"), bytes([5 if c.mqtt5 else 4, flags]), struct.pack("!H", c.keepalive)]
    if c.mqtt5:
        parts.append(encode_properties(c.properties))
    parts.append(_string(c.client_id))
    if c.will_topic is not None:
        if c.mqtt5:
            parts.append(encode_properties(None))
        parts += [_string(c.will_topic), _string(c.will_payload)]
    if c.username is not None:
        parts.append(_string(c.username))
        if c.password is not None:
            parts.append(_string(c.password))
    return _packet(CONNECT << 4, b"".join(parts))


def decode_connect(body: bytes) -> Connect:
    name, pos = _read_string(body, 0)
    if name != "MQTT" or pos + 4 > len(body):
        raise MalformedPacket("not an MQTT CONNECT")
    level, flags = body[pos], body[pos + 1]
    keepalive, pos = _read_u16(body, pos + 2)
    mqtt5 = level == 5
    properties: Properties = {}
    if mqtt5:
        properties, pos = decode_properties(body, pos)
    client_id, pos = _read_string(body, pos)
    will_topic, will_payload = None, b""
    if flags & 0x04:
        if mqtt5:
            _, pos = decode_properties(body, pos)
        will_topic, pos = _read_string(body, pos)
        will_payload, pos = _read_binary(body, pos)
    username = password = None
    if flags & 0x80:
        username, pos = _read_string(body, pos)
    if flags & 0x40:
        password, pos = _read_string(body, pos)
    return Connect(client_id, keepalive, bool(flags & 0x02), mqtt5, username, password, will_topic, will_payload,
                   (flags >> 3) & 0x03, bool(flags & 0x20), properties)


@frozen
class Connack:
    session_present: bool
    reason: int  # as sent: a 3.1.1 return code or an MQTT 5 reason code (``connack_reason`` maps the first)
    properties: Properties = field(default_factory=dict)


def encode_connack(c: Connack, mqtt5: bool) -> bytes:
    body = bytes([1 if c.session_present else 0, c.reason])
    return _packet(CONNACK << 4, body + encode_properties(c.properties) if mqtt5 else body)


def decode_connack(body: bytes, mqtt5: bool) -> Connack:
    if len(body) < 2:
        raise MalformedPacket("CONNACK cut short")
    properties: Properties = {}
    if mqtt5 and len(body) > 2:
        properties, _ = decode_properties(body, 2)
    return Connack(bool(body[0] & 0x01), body[1], properties)


# -- PUBLISH / PUBACK ------------------------------------------------------------------------------

@frozen
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    mid: int = 0  # the packet identifier, QoS 1 only
    properties: Properties = field(default_factory=dict)


def encode_publish(p: Publish, mqtt5: bool) -> bytes:
    if p.qos not in (0, 1):
        raise ValueError("QoS 0 or 1 only")
    first = PUBLISH << 4 | (0x08 if p.dup else 0) | p.qos << 1 | (0x01 if p.retain else 0)
    head = _string(p.topic)
    if p.qos:
        head += struct.pack("!H", p.mid)
    if mqtt5:
        head += encode_properties(p.properties)
    size = len(head) + len(p.payload)
    return b"".join((bytes([first]), encode_varint(size), head, p.payload))


def with_dup(packet: bytes) -> bytes:
    """The same encoded PUBLISH sent again (DUP flag set)."""
    return bytes([packet[0] | 0x08]) + packet[1:]


def decode_publish(first: int, body: bytes, mqtt5: bool) -> Publish:
    qos = (first >> 1) & 0x03
    if qos > 2:
        raise MalformedPacket("PUBLISH with QoS 3")
    topic, pos = _read_string(body, 0)
    mid = 0
    if qos:
        mid, pos = _read_u16(body, pos)
    properties: Properties = {}
    if mqtt5:
        properties, pos = decode_properties(body, pos)
    return Publish(topic, body[pos:], qos, bool(first & 0x01), bool(first & 0x08), mid, properties)


def encode_puback(mid: int, mqtt5: bool, reason: int = 0, properties: Properties | None = None) -> bytes:
    body = struct.pack("!H", mid)
    if mqtt5 and (reason or properties):
        body += bytes([reason]) + (encode_properties(properties) if properties else b"")
    return _packet(PUBACK << 4, body)


def decode_puback(body: bytes, mqtt5: bool) -> tuple[int, int, Properties]:
    """Packet identifier, reason code (0 when absent) and properties."""
    mid, _ = _read_u16(body, 0)
    reason, properties = 0, Properties()
    if mqtt5 and len(body) > 2:
        reason = body[2]
        if len(body) > 3:
            properties, _ = decode_properties(body, 3)
    return mid, reason, properties


# -- SUBSCRIBE / SUBACK ----------------------------------------------------------------------------

def encode_subscribe(mid: int, topics: Iterable[tuple[str, int]], mqtt5: bool) -> bytes:
    parts = [struct.pack("!H", mid)]
    if mqtt5:
        parts.append(encode_properties(None))
    parts += [_string(topic) + bytes([qos]) for topic, qos in topics]
    return _packet(SUBSCRIBE << 4 | 0x02, b"".join(parts))


def decode_subscribe(body: bytes, mqtt5: bool) -> tuple[int, list[tuple[str, int]]]:
    mid, pos = _read_u16(body, 0)
    if mqtt5:
        _, pos = decode_properties(body, pos)
    topics = []
    while pos < len(body):
        topic, pos = _read_string(body, pos)
        if pos >= len(body):
            raise MalformedPacket("SUBSCRIBE without options")
        topics.append((topic, body[pos] & 0x03))
        pos += 1
    return mid, topics


def encode_suback(mid: int, reasons: Iterable[int], mqtt5: bool) -> bytes:
    body = struct.pack("!H", mid) + (encode_properties(None) if mqtt5 else b"") + bytes(reasons)
    return _packet(SUBACK << 4, body)


def decode_suback(body: bytes, mqtt5: bool) -> tuple[int, list[int]]:
    """Packet identifier and one reason code (3.1.1: granted QoS or 0x80) per topic."""
    mid, pos = _read_u16(body, 0)
    if mqtt5:
        _, pos = decode_properties(body, pos)
    return mid, list(body[pos:])


# -- DISCONNECT --------------------------------------------------------------------------------------

def encode_disconnect(mqtt5: bool, reason: int = 0) -> bytes:
    return _packet(DISCONNECT << 4, bytes([reason]) if mqtt5 and reason else b"")


def decode_disconnect(body: bytes, mqtt5: bool) -> int:
    """The reason code (0, normal disconnection, when absent)."""
    return body[0] if mqtt5 and body else 0


# -- the stream ------------------------------------------------------------------------------------

class PacketReader:
    """Bytes in as they come off the socket, whole packets out as (first byte, body)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def packets(self) -> Iterator[tuple[int, bytes]]:
        buffer = self._buffer
        pos = 0
        try:
            while len(buffer) - pos >= 2:
                try:
                    size, start = decode_varint(buffer, pos + 1)
                except CutShort:
                    return  # the remaining length is still arriving
                end = start + size
                if end > len(buffer):
                    return
                first, body = buffer[pos], bytes(buffer[start:end])
                pos = end
                yield first, body
        finally:
            del buffer[:pos]

    def clear(self) -> None:
        self._buffer.clear()
