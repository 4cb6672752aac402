"""The LoRaWAN service: ChirpStack events in, records committed, then acknowledged; downlinks out, tracked."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from edge_agent.cancellation import cancel_and_wait
from edge_agent.catalog import Catalog, catalog_for
from edge_agent.device_state import LorawanDeviceStatus
from edge_agent.errors import DeviceError, WriteRejected
from edge_agent.logs import get_logger
from edge_agent.lorawan.adapter import ChirpstackMqtt
from edge_agent.lorawan.config import ChirpstackConfig, LorawanDeviceConfig
from edge_agent.lorawan.decoders import ObjectDecoder, PayloadDecoder
from edge_agent.lorawan.downlinks import (
    DownlinkStatus,
    DownlinkTicket,
    DownlinkTracker,
    command_payload,
    command_topic,
    new_ticket_id,
    ticket_event,
)
from edge_agent.lorawan.events import Ack, ChirpstackEvent, Log, TxAck
from edge_agent.lorawan.grpc_client import GrpcEnqueuer, read_token, token_problem
from edge_agent.lorawan.intake import EventIntake
from edge_agent.lorawan.records import malformed
from edge_agent.mqtt_client import Message
from edge_agent.reading import Record
from edge_agent.services import ServiceContext
from edge_agent.store.view import last_frame_counters

log = get_logger(__name__)

_BATCH = 500  # messages committed in one transaction at most
_MAX_IN_FLIGHT = 8  # submissions awaiting their group commit while the next messages are taken, per second of
# ``store.commit_interval`` (each submission holds every message queued when it was made: at a trickle, one each)
_RETRY_MAX = 10.0


class LorawanService:
    """Implements the Service protocol, plus ``send_downlink`` and ``devices_status``."""

    name = "lorawan"

    def __init__(self, context: ServiceContext, devices: list[LorawanDeviceConfig], config: ChirpstackConfig,
                 *, catalog: Catalog | None = None, tick: float = 1.0) -> None:
        self._context = context
        self._config = config
        self._intake = EventIntake(devices, catalog or catalog_for(tuple(context.config.drivers.paths)), context.clock,
                              config.encoding, max_payload=config.max_payload_bytes)
        self._mqtt = ChirpstackMqtt(config)
        self._downlinks = DownlinkTracker()
        self._grpc: GrpcEnqueuer | None = None
        self.problem: str | None = None  # a setting that could not be used at start, in plain words
        self._tick = tick
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: deque[asyncio.Task[None]] = deque()  # submissions awaiting their commit, oldest first
        self._max_in_flight = max(_MAX_IN_FLIGHT, math.ceil(_MAX_IN_FLIGHT * context.config.store.commit_interval))
        self._sink_failures = 0
        self._internal_errors = 0

    async def start(self) -> None:
        stored = await asyncio.to_thread(last_frame_counters, self._context.config.store.path)
        for name, f_cnt in stored.items():
            state = self._intake.table.by_name(name)
            if state is not None and state.f_cnt is None:
                state.f_cnt = f_cnt
        if self._config.api_token_file is not None and self._config.grpc_address is not None:
            try:
                token = await asyncio.to_thread(read_token, self._config.api_token_file)
            except (OSError, DeviceError) as exc:  # uplinks and MQTT downlinks do not need it: run without
                self.problem = (f"{token_problem(self._config.api_token_file, exc)}; downlinks go through MQTT"
                                " until it is fixed and the agent restarted")
                log.error("chirpstack_token_unusable", problem=self.problem)
            else:
                self._grpc = GrpcEnqueuer(self._config.grpc_address, token)
        await self._commit(self._intake.unusable_events())
        await self._mqtt.start()
        self._tasks = [asyncio.create_task(self._consume(), name="lorawan-consume"),
                       asyncio.create_task(self._housekeep(), name="lorawan-housekeep")]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._in_flight]  # what is not committed yet is not acknowledged: sent again
        await cancel_and_wait(tasks)
        self._tasks = []
        self._in_flight.clear()
        await self._mqtt.stop()
        if self._grpc is not None:
            await self._grpc.close()

    def health(self) -> dict[str, object]:
        return {"connected": self._mqtt.connected, "subscribed": self._mqtt.subscribed, "problem": self.problem,
                "mqtt": dict(self._mqtt.stats),
                "counters": dict(self._intake.counters), "sink_failures": self._sink_failures,
                "internal_errors": self._internal_errors,
                "downlinks_open": sum(not t.status.final for t in self._downlinks.all())}

    def devices_status(self) -> list[LorawanDeviceStatus]:
        return [state.status() for state in self._intake.table.all()]

    def signal(self, device: str | None = None, last: int = 10) -> dict[str, list[dict[str, object]]]:
        """Per LoRaWAN device (or the one named): its last uplinks' radio metadata per gateway, newest first."""
        return {state.config.name: state.signal(last) for state in self._intake.table.all()
                if device is None or state.config.name == device}

    def downlink(self, ticket_id: str) -> DownlinkTicket | None:
        return self._downlinks.get(ticket_id)

    # -- uplinks --------------------------------------------------------------------------------

    async def _consume(self) -> None:
        """Take the messages as they come and hand their records to the store without waiting for the commit of
        the ones before (a message arriving during that wait would wait for two group commits); each message is
        acknowledged to the broker once its records are committed, in the order the messages came. At most
        ``_max_in_flight`` submissions wait at once, so a store that falls behind still holds the intake back."""
        in_flight = self._in_flight
        while True:
            batch = [await self._mqtt.get()]
            while len(batch) < _BATCH and (more := self._mqtt.get_nowait()) is not None:
                batch.append(more)
            records: list[Record] = []
            for message in batch:
                records += self._handle(message)
            while in_flight and in_flight[0].done():
                in_flight.popleft()
            while len(in_flight) >= self._max_in_flight:
                await asyncio.wait({in_flight[0]})
                in_flight.popleft()
            before = in_flight[-1] if in_flight else None
            in_flight.append(asyncio.create_task(self._commit_then_ack(records, batch, before)))

    async def _commit_then_ack(self, records: Sequence[Record], batch: list[Message],
                               before: asyncio.Task[None] | None) -> None:
        await self._commit(records)
        if before is not None:  # acknowledgements in the order the messages came
            await asyncio.wait({before})
        for message in batch:
            self._mqtt.ack(message)

    def _handle(self, message: Message) -> list[Record]:
        try:
            outcome = self._intake.handle(message.topic, message.payload)
            return outcome.records + self._track(outcome.event)
        except Exception as exc:  # a bug of ours must cost one message, never the service
            self._internal_errors += 1
            log.exception("lorawan_message_failed", topic=message.topic[:200])
            clock = self._context.clock
            return [malformed(message.topic, message.payload, f"internal error: {type(exc).__name__}: {exc}",
                              clock.now(), clock.synced())]

    def _track(self, event: ChirpstackEvent | None) -> list[Record]:
        if not isinstance(event, TxAck | Ack | Log):
            return []
        ticket = self._downlinks.on_event(event, self._context.clock.now())
        if ticket is None:
            return []
        log.info("lorawan_downlink", device=ticket.device, id=ticket.id, status=str(ticket.status),
                 reason=ticket.reason)
        return [ticket_event(ticket, self._context.clock.now(), self._context.clock.synced())]

    async def _commit(self, records: Sequence[Record]) -> None:
        """Submit until the sink takes them: the messages are acknowledged only after this returns."""
        delay = 0.2
        while records:
            try:
                await self._context.sink.submit(records)
                return
            except Exception as exc:  # the store is full or broken: hold the messages, retry, never drop
                self._sink_failures += 1
                log.error("lorawan_commit_failed", error=str(exc), records=len(records), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            clock = self._context.clock
            records = self._intake.silence()
            for ticket in self._downlinks.expire(clock.now()):
                log.warning("lorawan_downlink_expired", device=ticket.device, id=ticket.id)
                records.append(ticket_event(ticket, clock.now(), clock.synced()))
            await self._commit(records)

    # -- downlinks ------------------------------------------------------------------------------

    async def send_downlink(self, device: str, command: str, value: object | None = None) -> DownlinkTicket:
        """Encode a command with the device's codec and enqueue it; the ticket's status follows its fate."""
        state = self._intake.table.by_name(device)
        if state is None:
            raise WriteRejected(f"'{device}' is not a LoRaWAN device of this site")
        decoder = self._intake.decoders[device]
        if isinstance(decoder, ObjectDecoder):
            raise WriteRejected(f"'{device}' is decoded by ChirpStack (codec = \"chirpstack\"): edge-agent has no"
                                " command encoder for it; send downlinks from ChirpStack")
        if not isinstance(decoder, PayloadDecoder):
            raise WriteRejected(f"'{device}' cannot take commands: its codec cannot be used: {state.problem}")
        encoded = decoder.codec.encode(command, value)
        clock = self._context.clock
        now = clock.now()
        ticket = DownlinkTicket(
            id=new_ticket_id(), device=device, dev_eui=state.config.dev_eui, command=command, value=value,
            f_port=encoded.f_port, data_hex=encoded.data.hex(), confirmed=state.config.confirmed_downlinks,
            via="grpc" if self._grpc is not None else "mqtt", created=now,
            expires_at=now + max(self._config.downlink_expiry, 2 * state.config.uplink_interval),
        )
        application_id = state.config.application_id or state.application_id
        if self._grpc is None and application_id is None:
            raise WriteRejected(f"the ChirpStack application of '{device}' is unknown: set its application_id "
                                "in the site config (or wait for its first uplink)")
        try:
            if self._grpc is not None:
                queue_id = await self._grpc.enqueue(ticket_id=ticket.id, dev_eui=ticket.dev_eui, f_port=ticket.f_port,
                                                    data=encoded.data, confirmed=ticket.confirmed,
                                                    expires_at=ticket.expires_at)
                ticket = replace(ticket, id=queue_id)  # ChirpStack's API names the queue item itself
                self._downlinks.add(ticket)
            else:
                assert application_id is not None
                self._downlinks.add(ticket)
                self._mqtt.publish(command_topic(application_id, ticket.dev_eui),
                                   command_payload(ticket, self._config.encoding))
        except Exception as exc:
            self._downlinks.add(ticket)
            ticket = self._downlinks.fail(ticket.id, f"enqueue failed: {exc}", now) or ticket
            log.warning("lorawan_downlink_failed", device=device, command=command, error=str(exc))
        else:
            log.info("lorawan_downlink_queued", device=device, command=command, id=ticket.id, via=ticket.via)
        await self._commit([ticket_event(ticket, now, clock.synced())])
        return self._downlinks.get(ticket.id) or ticket


def build_service(context: ServiceContext) -> LorawanService | None:
    """The LoRaWAN service for this site, or None when the site has no LoRaWAN device."""
    devices = [d for d in context.config.devices if isinstance(d, LorawanDeviceConfig)]
    if not devices:
        return None
    return LorawanService(context, devices, context.config.chirpstack or ChirpstackConfig())


__all__ = ["DownlinkStatus", "DownlinkTicket", "LorawanService", "build_service"]
