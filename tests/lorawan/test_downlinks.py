"""Downlinks: the command/down message on a real Mosquitto, then its fate from txack/ack/log events."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chirpstack_api import integration

from edge_agent.clock import FakeClock
from edge_agent.errors import WriteRejected
from edge_agent.lorawan.downlinks import DownlinkStatus
from edge_agent.lorawan.lorawan_service import LorawanService
from edge_agent.reading import Priority
from tests.lorawan.support import (
    APP,
    Publisher,
    StoreSink,
    device_info,
    encode,
    event_topic,
    make_service,
    site,
    uplink_event,
    wait_connected,
    wait_until,
)
from tests.support.broker import Broker
from tests.support.mqtt import Capture

LIGHT = "24e124468c263551"
RELAY = "a840411e51865f2c"
LUMINAIRE = "70b3d5c0a0001234"
DEVICES: list[dict[str, Any]] = [
    {"driver": "lorawan", "name": "lampe-eglise", "dev_eui": LUMINAIRE, "codec": "nas_ul20xx",
     "application_id": APP},
    {"driver": "lorawan", "name": "light-rue", "dev_eui": LIGHT, "codec": "milesight_ws558", "application_id": APP},
    {"driver": "lorawan", "name": "relay-parc", "dev_eui": RELAY, "codec": "dragino_lt22222l",
     "confirmed_downlinks": False},
]


@pytest.fixture
def capture(broker: Broker) -> Iterator[Capture]:
    cap = Capture(broker.port, "application/+/device/+/command/down")
    yield cap
    cap.close()


@pytest.fixture
def chirpstack(broker: Broker) -> Iterator[Publisher]:
    publisher = Publisher(broker.port)
    yield publisher
    publisher.close()


def _txack(dev_eui: str, queue_item_id: str) -> dict[str, Any]:
    return {"downlinkId": 3451893, "time": "2026-11-28T21:05:00Z", "deviceInfo": device_info(dev_eui),
            "queueItemId": queue_item_id, "fCntDown": 12, "gatewayId": "0016c001ff10a236",
            "txInfo": {"frequency": 869525000}}


def _ack(dev_eui: str, queue_item_id: str, acknowledged: bool) -> dict[str, Any]:
    return {"deduplicationId": "c9dbe358-2578-4fb7-b295-66b44edc45a6", "time": "2026-11-28T21:06:00Z",
            "deviceInfo": device_info(dev_eui), "queueItemId": queue_item_id, "acknowledged": acknowledged,
            "fCntDown": 12}


def _run(broker: Broker, sink: StoreSink, body: Any, *, encoding: str = "json", clock: Any = None) -> None:
    async def scenario() -> None:
        service = make_service(site(broker.port, DEVICES, encoding=encoding, downlink_expiry=60), sink, clock)
        await service.start()
        try:
            await wait_connected(service)
            await body(service)
        finally:
            await service.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_a_downlink_is_published_and_followed_to_delivery(broker: Broker, tmp_path: Path, capture: Capture,
                                                         chirpstack: Publisher, encoding: str) -> None:
    sink = StoreSink(tmp_path / "store.db")

    async def body(service: LorawanService) -> None:
        ticket = await service.send_downlink("light-rue", "switch", {1: "on", 2: "off"})
        assert ticket.status == DownlinkStatus.QUEUED
        (message,) = await asyncio.to_thread(capture.wait_for, lambda m: m)
        assert message.topic == f"application/{APP}/device/{LIGHT}/command/down"
        assert message.qos == 1
        if encoding == "json":
            command = message.json()
            assert command["devEui"] == LIGHT and command["fPort"] == 85 and command["confirmed"] is True
            assert base64.b64decode(command["data"]) == bytes.fromhex("080301")
            assert command["id"] == ticket.id and command["expiresAt"].endswith("Z")
        else:
            parsed = integration.DownlinkCommand.FromString(message.payload)
            assert (parsed.dev_eui, parsed.f_port, parsed.data, parsed.id) == (LIGHT, 85, b"\x08\x03\x01", ticket.id)
        await chirpstack.asend(event_topic(LIGHT, "txack"), encode(_txack(LIGHT, ticket.id), "txack", encoding))
        await wait_until(lambda: service.downlink(ticket.id).status == DownlinkStatus.SENT)  # type: ignore[union-attr]
        await chirpstack.asend(event_topic(LIGHT, "ack"), encode(_ack(LIGHT, ticket.id, True), "ack", encoding))
        await wait_until(lambda: sink.events("downlink_delivered"))
        final = service.downlink(ticket.id)
        assert final is not None and final.status == DownlinkStatus.DELIVERED and final.f_cnt_down == 12

    _run(broker, sink, body, encoding=encoding)
    kinds = [(e.kind, e.priority) for e in sink.events() if e.kind.startswith("downlink_")]
    assert kinds == [("downlink_queued", Priority.INFO), ("downlink_sent", Priority.INFO),
                     ("downlink_delivered", Priority.INFO)]
    sink.close()


def test_nack_log_error_and_expiry_end_a_downlink(broker: Broker, tmp_path: Path, capture: Capture,
                                                 chirpstack: Publisher) -> None:
    sink = StoreSink(tmp_path / "store.db")
    clock = FakeClock()

    async def body(service: LorawanService) -> None:
        nacked = await service.send_downlink("light-rue", "set_interval", 600)
        logged = await service.send_downlink("light-rue", "report_status")
        forgotten = await service.send_downlink("light-rue", "switch", "off")
        await chirpstack.asend(event_topic(LIGHT, "ack"), encode(_ack(LIGHT, nacked.id, False), "ack", "json"))
        log_event = {"time": "2026-11-28T21:07:00Z", "deviceInfo": device_info(LIGHT), "level": "ERROR",
                     "code": "DOWNLINK_PAYLOAD_SIZE", "description": "payload exceeds the max size",
                     "context": {"deviceQueueItemId": logged.id}}
        await chirpstack.asend(event_topic(LIGHT, "log"), encode(log_event, "log", "json"))
        await wait_until(lambda: len(sink.events("downlink_failed")) == 2)
        clock.advance(2 * 3600 + 1)  # the deadline is max(downlink_expiry, 2 x the uplink interval)
        await wait_until(lambda: sink.events("downlink_expired"))
        statuses = {t.id: t.status for t in (service.downlink(x.id) for x in (nacked, logged, forgotten)) if t}
        assert statuses == {nacked.id: DownlinkStatus.FAILED, logged.id: DownlinkStatus.FAILED,
                            forgotten.id: DownlinkStatus.EXPIRED}
        assert "DOWNLINK_PAYLOAD_SIZE" in service.downlink(logged.id).reason  # type: ignore[union-attr]
        ends = sink.events("downlink_failed") + sink.events("downlink_expired")
        assert {e.priority for e in ends} == {Priority.WARNING}

    _run(broker, sink, body, clock=clock)
    sink.close()


def test_unconfirmed_downlink_is_delivered_at_txack_and_uses_the_uplinks_application(
        broker: Broker, tmp_path: Path, capture: Capture, chirpstack: Publisher) -> None:
    sink = StoreSink(tmp_path / "store.db")
    other_app = "9f1d2c3b-0000-4000-8000-0000000000aa"

    async def body(service: LorawanService) -> None:
        with pytest.raises(WriteRejected, match="application"):
            await service.send_downlink("relay-parc", "switch", "on")
        up = uplink_event(RELAY, "00000000000000003cff41", f_cnt=1, f_port=2, app=other_app)
        await chirpstack.asend(event_topic(RELAY, "up", other_app), encode(up, "up", "json"))
        await wait_until(lambda: sink.readings("relay-parc"))
        ticket = await service.send_downlink("relay-parc", "switch", "on")
        (message,) = await asyncio.to_thread(capture.wait_for, lambda m: m)
        assert message.topic == f"application/{other_app}/device/{RELAY}/command/down"
        assert message.json()["confirmed"] is False and message.json()["fPort"] == 1
        await chirpstack.asend(event_topic(RELAY, "txack", other_app),
                               encode(_txack(RELAY, ticket.id), "txack", "json"))
        await wait_until(lambda: service.downlink(ticket.id).status == DownlinkStatus.DELIVERED)  # type: ignore[union-attr]

    _run(broker, sink, body)
    sink.close()


def test_bad_commands_are_refused_before_anything_is_sent(broker: Broker, tmp_path: Path,
                                                         capture: Capture) -> None:
    sink = StoreSink(tmp_path / "store.db")

    async def body(service: LorawanService) -> None:
        with pytest.raises(WriteRejected, match="no command 'set_level'"):
            await service.send_downlink("light-rue", "set_level", 50)
        with pytest.raises(WriteRejected, match="from 60 to 64800"):
            await service.send_downlink("light-rue", "set_interval", 5)
        with pytest.raises(WriteRejected, match="not a LoRaWAN device"):
            await service.send_downlink("nobody", "switch", "on")
        await asyncio.sleep(0.3)

    _run(broker, sink, body)
    assert capture.snapshot() == []
    sink.close()


def test_dimming_a_luminaire_controller(broker: Broker, tmp_path: Path, capture: Capture) -> None:
    sink = StoreSink(tmp_path / "store.db")

    async def body(service: LorawanService) -> None:
        ticket = await service.send_downlink("lampe-eglise", "set_level", 50)
        (message,) = await asyncio.to_thread(capture.wait_for, lambda m: m)
        command = message.json()
        assert message.topic == f"application/{APP}/device/{LUMINAIRE}/command/down"
        assert (command["fPort"], base64.b64decode(command["data"])) == (60, b"\x01\xfe\x32")
        assert ticket.command == "set_level" and ticket.value == 50
        with pytest.raises(WriteRejected, match="from 0 to 100"):
            await service.send_downlink("lampe-eglise", "set_level", 120)

    _run(broker, sink, body)
    sink.close()


def test_a_ticket_id_is_a_random_version_4_uuid() -> None:
    import uuid

    from edge_agent.lorawan.downlinks import new_ticket_id

    ids = {new_ticket_id() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
