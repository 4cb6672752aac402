"""Downlinks: the command message ChirpStack expects, and each one's fate (txack/ack/log). Pure."""

from __future__ import annotations

import base64
import enum
import json
import os
from collections import OrderedDict
from dataclasses import field, replace

from edge_agent.frozen import frozen
from edge_agent.lorawan.events import Ack, Encoding, Log, TxAck
from edge_agent.reading import Event, Priority

_MAX_TICKETS = 1000
# Context keys under which ChirpStack's log events name the queue item they are about.
_QUEUE_ID_KEYS = ("queue_item_id", "queueItemId", "device_queue_item_id", "deviceQueueItemId", "id")


def new_ticket_id() -> str:
    """A random (version 4) UUID in its usual text form, ChirpStack's queue item id; made here from os.urandom as
    uuid.uuid4 makes it, without the uuid module the daemon would otherwise hold for this alone."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class DownlinkStatus(enum.StrEnum):
    QUEUED = "queued"        # handed to ChirpStack
    SENT = "sent"            # txack: a gateway transmitted it; a confirmed downlink still waits for the ack
    DELIVERED = "delivered"  # ack from the device (confirmed), or txack (unconfirmed)
    FAILED = "failed"        # nack, or a ChirpStack error log naming it, or the enqueue failed
    EXPIRED = "expired"      # nothing conclusive before its deadline

    @property
    def final(self) -> bool:
        return self in (DownlinkStatus.DELIVERED, DownlinkStatus.FAILED, DownlinkStatus.EXPIRED)


@frozen
class DownlinkTicket:
    """One downlink and what became of it."""

    id: str
    device: str
    dev_eui: str
    command: str
    value: object
    f_port: int
    data_hex: str
    confirmed: bool
    via: str
    created: float
    expires_at: float
    status: DownlinkStatus = DownlinkStatus.QUEUED
    reason: str = ""
    f_cnt_down: int | None = None
    history: tuple[tuple[str, float], ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "device": self.device, "command": self.command, "value": self.value,
                "f_port": self.f_port, "data_hex": self.data_hex, "confirmed": self.confirmed, "via": self.via,
                "status": str(self.status), "reason": self.reason, "created": self.created,
                "expires_at": self.expires_at, "f_cnt_down": self.f_cnt_down}


def command_topic(application_id: str, dev_eui: str) -> str:
    return f"application/{application_id}/device/{dev_eui}/command/down"


def command_payload(ticket: DownlinkTicket, encoding: Encoding) -> bytes:
    """The ``command/down`` message for a ticket, in the integration's encoding."""
    data = bytes.fromhex(ticket.data_hex)
    if encoding == "protobuf":
        from chirpstack_api import integration  # loaded only for a protobuf integration

        message = integration.DownlinkCommand(id=ticket.id, dev_eui=ticket.dev_eui, confirmed=ticket.confirmed,
                                              f_port=ticket.f_port, data=data)
        message.expires_at.FromNanoseconds(int(ticket.expires_at * 1e9))
        return bytes(message.SerializeToString())
    expires = message_time(ticket.expires_at)
    return json.dumps({"id": ticket.id, "devEui": ticket.dev_eui, "confirmed": ticket.confirmed,
                       "fPort": ticket.f_port, "data": base64.b64encode(data).decode("ascii"),
                       "expiresAt": expires}).encode()


def message_time(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DownlinkTracker:
    """The last tickets by id; each event moves one on. ``expire`` ends those past their deadline."""

    def __init__(self, max_tickets: int = _MAX_TICKETS) -> None:
        self._tickets: OrderedDict[str, DownlinkTicket] = OrderedDict()
        self._max = max_tickets

    def add(self, ticket: DownlinkTicket) -> None:
        self._tickets[ticket.id] = ticket
        while len(self._tickets) > self._max:
            oldest = next((k for k, t in self._tickets.items() if t.status.final), next(iter(self._tickets)))
            del self._tickets[oldest]

    def get(self, ticket_id: str) -> DownlinkTicket | None:
        return self._tickets.get(ticket_id)

    def all(self) -> list[DownlinkTicket]:
        return list(self._tickets.values())

    def _move(self, ticket_id: str, status: DownlinkStatus, now: float, reason: str = "",
              f_cnt_down: int | None = None) -> DownlinkTicket | None:
        ticket = self._tickets.get(ticket_id)
        if ticket is None or ticket.status.final:
            return None
        moved = replace(ticket, status=status, reason=reason or ticket.reason,
                        f_cnt_down=f_cnt_down if f_cnt_down is not None else ticket.f_cnt_down,
                        history=(*ticket.history, (str(status), now)))
        self._tickets[ticket_id] = moved
        return moved

    def on_event(self, event: TxAck | Ack | Log, now: float) -> DownlinkTicket | None:
        if isinstance(event, TxAck):
            ticket = self._tickets.get(event.queue_item_id)
            if ticket is None:
                return None
            status = DownlinkStatus.SENT if ticket.confirmed else DownlinkStatus.DELIVERED
            return self._move(ticket.id, status, now, f"transmitted by gateway {event.gateway_id}", event.f_cnt_down)
        if isinstance(event, Ack):
            if event.acknowledged:
                return self._move(event.queue_item_id, DownlinkStatus.DELIVERED, now, "acknowledged by the device")
            return self._move(event.queue_item_id, DownlinkStatus.FAILED, now, "the device did not acknowledge")
        return self._on_log(event, now)

    def _on_log(self, event: Log, now: float) -> DownlinkTicket | None:
        if event.level not in ("ERROR", "WARNING"):
            return None
        for key in _QUEUE_ID_KEYS:
            ticket_id = event.context.get(key)
            if ticket_id and ticket_id in self._tickets:
                return self._move(ticket_id, DownlinkStatus.FAILED, now, f"{event.code}: {event.description}")
        return None

    def fail(self, ticket_id: str, reason: str, now: float) -> DownlinkTicket | None:
        return self._move(ticket_id, DownlinkStatus.FAILED, now, reason)

    def expire(self, now: float) -> list[DownlinkTicket]:
        due = [t.id for t in self._tickets.values() if not t.status.final and now >= t.expires_at]
        moved = [self._move(i, DownlinkStatus.EXPIRED, now, "no delivery report before the deadline") for i in due]
        return [t for t in moved if t is not None]


def ticket_event(ticket: DownlinkTicket, ts: float, synced: bool) -> Event:
    """The record of a ticket reaching a new state."""
    priority = Priority.WARNING if ticket.status in (DownlinkStatus.FAILED, DownlinkStatus.EXPIRED) else Priority.INFO
    return Event(f"downlink_{ticket.status}", ts, priority, ticket.device,
                 f"downlink {ticket.command} to {ticket.device}: {ticket.status}"
                 + (f" ({ticket.reason})" if ticket.reason else ""),
                 {"id": ticket.id, "command": ticket.command, "status": str(ticket.status), "reason": ticket.reason,
                  "f_port": ticket.f_port, "data_hex": ticket.data_hex, "via": ticket.via}, synced)
