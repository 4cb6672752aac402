"""Downlinks through ChirpStack's gRPC API when an API token is configured.

No ChirpStack runs here, so the peer is a small in-process gRPC server implementing chirpstack_api's
DeviceService.Enqueue (the real generated service definition): it checks the token and records the item.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
from chirpstack_api import api

from edge_agent.lorawan.downlinks import DownlinkStatus
from tests.lorawan.support import StoreSink, encode, event_topic, make_service, site, wait_connected, wait_until
from tests.support.broker import Broker
from tests.support.mqtt import publish
from tests.support.ports import free_port

LIGHT = "24e124468c263551"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.test-token"


class FakeDeviceService(api.DeviceServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.tokens: list[str] = []

    async def Enqueue(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC's method name)
        metadata = dict(context.invocation_metadata())
        self.tokens.append(metadata.get("authorization", ""))
        if metadata.get("authorization") != f"Bearer {TOKEN}":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad token")
        self.items.append(request.queue_item)
        return api.EnqueueDeviceQueueItemResponse(id=f"cs-{len(self.items)}")


def test_grpc_enqueue_with_token_then_txack(broker: Broker, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    sink = StoreSink(tmp_path / "store.db")
    fake = FakeDeviceService()
    port = free_port()
    devices = [{"driver": "lorawan", "name": "light-rue", "dev_eui": LIGHT, "codec": "milesight_ws558",
                "confirmed_downlinks": False}]

    async def scenario() -> None:
        server = grpc.aio.server()
        api.add_DeviceServiceServicer_to_server(fake, server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        config = site(broker.port, devices, grpc_address=f"127.0.0.1:{port}", api_token_file=str(token_file))
        service = make_service(config, sink)
        await service.start()
        try:
            await wait_connected(service)
            ticket = await service.send_downlink("light-rue", "switch", True)
            assert ticket.via == "grpc" and ticket.id == "cs-1" and ticket.status == DownlinkStatus.QUEUED
            txack = {"downlinkId": 1, "deviceInfo": {"devEui": LIGHT}, "queueItemId": "cs-1", "fCntDown": 4,
                     "gatewayId": "0016c001ff10a236"}
            await asyncio.to_thread(publish, broker.port, event_topic(LIGHT, "txack"),
                                    encode(txack, "txack", "json"))
            await wait_until(lambda: sink.events("downlink_delivered"))
        finally:
            await service.stop()
            await server.stop(None)

    asyncio.run(scenario())
    (item,) = fake.items
    assert (item.dev_eui, item.f_port, item.data, item.confirmed) == (LIGHT, 85, b"\x08\xff\xff", False)
    assert item.expires_at.seconds > 0
    assert fake.tokens == [f"Bearer {TOKEN}"]
    sink.close()


def test_grpc_refusal_fails_the_ticket(broker: Broker, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("wrong-token")
    sink = StoreSink(tmp_path / "store.db")
    port = free_port()
    devices = [{"driver": "lorawan", "name": "light-rue", "dev_eui": LIGHT, "codec": "milesight_ws558"}]

    async def scenario() -> None:
        server = grpc.aio.server()
        api.add_DeviceServiceServicer_to_server(FakeDeviceService(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        service = make_service(site(broker.port, devices, grpc_address=f"127.0.0.1:{port}",
                                    api_token_file=str(token_file)), sink)
        await service.start()
        try:
            ticket = await service.send_downlink("light-rue", "report_status")
            assert ticket.status == DownlinkStatus.FAILED and "UNAUTHENTICATED" in ticket.reason
        finally:
            await service.stop()
            await server.stop(None)

    asyncio.run(scenario())
    (failed,) = sink.events("downlink_failed")
    assert failed.device == "light-rue"
    sink.close()


def test_a_missing_token_file_leaves_uplinks_and_mqtt_downlinks_working(broker: Broker, tmp_path: Path) -> None:
    """The agent must not stop (and the lights with it) because ChirpStack's API token is not in place yet: it says
    which file is missing in its health, and queues downlinks through the MQTT integration meanwhile."""
    sink = StoreSink(tmp_path / "store.db")
    app = "0b8a4c1e-2f4d-4b8e-9a51-6c3d2e1f0a97"
    devices = [{"driver": "lorawan", "name": "light-rue", "dev_eui": LIGHT, "codec": "milesight_ws558",
                "application_id": app}]
    missing = tmp_path / "chirpstack.token"
    service = make_service(site(broker.port, devices, grpc_address=f"127.0.0.1:{free_port()}",
                                api_token_file=str(missing)), sink)

    async def scenario() -> None:
        await service.start()
        try:
            await wait_connected(service)
            problem = service.health()["problem"]
            assert isinstance(problem, str) and str(missing) in problem and "No such file" in problem
            ticket = await service.send_downlink("light-rue", "report_status")
            assert ticket.via == "mqtt" and ticket.status == DownlinkStatus.QUEUED
        finally:
            await service.stop()

    asyncio.run(scenario())
    sink.close()
