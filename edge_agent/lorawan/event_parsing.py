"""A ChirpStack v4 integration message into our event: JSON or protobuf, the decoder imported only when used."""

from __future__ import annotations

from edge_agent.lorawan.events import EVENT_TYPES, ChirpstackEvent, Encoding, Topic


def parse_event(topic: Topic, payload: bytes, encoding: Encoding) -> ChirpstackEvent | None:
    """Our event for this message; None for event types we do not use (location...)."""
    if topic.event not in EVENT_TYPES:
        return None
    if encoding == "json":
        from edge_agent.lorawan.events_json import parse_json_event

        return parse_json_event(topic, payload)
    from edge_agent.lorawan.events_protobuf import parse_protobuf_event

    return parse_protobuf_event(topic, payload)
