"""Carrying out validated requests against the running agent. Every outcome is one answer; nothing raises."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from edge_agent import __version__
from edge_agent.commands.config_push import push_config
from edge_agent.commands.context import CommandContext
from edge_agent.commands.errors import CommandFailure, ErrorCode
from edge_agent.commands.memory import RecentAnswers
from edge_agent.commands.requests import MAX_PAYLOAD, Known, Request, RequestRefused, parse_request, readable_id
from edge_agent.commands.trial import Marker
from edge_agent.errors import LinkDown
from edge_agent.logs import get_logger
from edge_agent.ports import LightingGroups
from edge_agent.store.command_log import CommandLog
from edge_agent.sync.payloads import build_replay, iso_utc, response_payload

log = get_logger(__name__)

_READ_TIMEOUT = 10.0
Handler = Callable[["Dispatcher", Request], Awaitable[dict[str, Any] | None]]


class Dispatcher:
    """One request in, at most one answer out (None: the answer comes later, after a config trial)."""

    def __init__(self, context: CommandContext, answers: RecentAnswers, command_log: CommandLog) -> None:
        self.context = context
        self.answers = answers
        self.command_log = command_log
        self.counters: dict[str, int] = {}
        # A pushed config on trial that moved the upstream link: kept once the hypervisor confirms it over that link.
        self.awaiting: Marker | None = None
        self.confirmed = asyncio.Event()

    def known(self) -> Known:
        config = self.context.config
        return Known(devices=frozenset(d.name for d in config.devices),
                     groups=frozenset(g.name for g in config.lighting.groups))

    async def handle(self, payload: bytes) -> bytes | None:
        """The one answer to ``payload`` (None only while a pushed config is tried: the next agent answers)."""
        try:
            return await self._handle(payload)
        except Exception as exc:  # a bug must cost an 'internal' answer, never the answer
            request_id = readable_id(payload)
            log.exception("command_crashed", id=request_id)
            self._count(ErrorCode.INTERNAL.value)
            internal = CommandFailure(ErrorCode.INTERNAL, f"{type(exc).__name__} while reading the request")
            return response_payload(request_id, None, self.context.clock.now(), error=internal.as_json())

    async def _handle(self, payload: bytes) -> bytes | None:
        repeated = self._repeat(payload)
        if repeated is not None:
            return repeated
        commands = self.context.config.upstream.commands
        clock = self.context.clock
        try:
            request = parse_request(payload, now=clock.now(), max_age=commands.max_age, clock_synced=clock.synced(),
                                    known=self.known(), replay_max=commands.replay_max_records)
        except RequestRefused as refused:
            self._count(refused.code.value)
            log.warning("command_refused", id=refused.request_id, command=refused.command, code=refused.code.value,
                        reason=refused.message)
            return response_payload(refused.request_id, refused.command, clock.now(), error=refused.as_json())
        return await self._execute(request)

    def _repeat(self, payload: bytes) -> bytes | None:
        """The first answer to an id already executed (or None when the id is new or unreadable)."""
        if len(payload) > MAX_PAYLOAD:
            return None  # refused as malformed by the parser
        try:
            request_id = json.loads(payload).get("id")
        except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
            return None
        if not isinstance(request_id, str):
            return None
        answer = self.answers.get(request_id)
        if answer is not None:
            self._count("repeated")
            log.info("command_repeated", id=request_id)
            return answer
        if self.answers.running(request_id):
            self._count("repeated")
            failure = CommandFailure(ErrorCode.IN_PROGRESS, "this request is being carried out; its answer follows")
            return response_payload(request_id, None, self.context.clock.now(), error=failure.as_json())
        return None

    async def _execute(self, request: Request) -> bytes | None:
        now = self.context.clock.now
        self.answers.start(request.id)
        try:
            result = await _HANDLERS[request.command](self, request)
        except CommandFailure as failure:
            answer = response_payload(request.id, request.command, now(), error=failure.as_json())
            self._count(failure.code.value)
            log.warning("command_failed", id=request.id, command=request.command, code=failure.code.value,
                        reason=failure.message)
            if failure.retryable:
                self.answers.forget(request.id)
                return answer
        except Exception as exc:  # a bug must not take the agent down: answer it
            log.exception("command_crashed", id=request.id, command=request.command)
            internal = CommandFailure(ErrorCode.INTERNAL, f"{type(exc).__name__} while carrying out the request")
            answer = response_payload(request.id, request.command, now(), error=internal.as_json())
        else:
            if result is None:
                return None  # a config trial: answered by the next agent
            answer = response_payload(request.id, request.command, now(), result=result)
            self._count("ok")
            log.info("command_done", id=request.id, command=request.command)
        await self.remember(request.id, answer)
        return answer

    async def remember(self, request_id: str, answer: bytes) -> None:
        self.answers.remember(request_id, answer)
        try:
            await asyncio.to_thread(self.command_log.put, request_id, self.context.clock.now(), answer)
        except Exception as exc:
            log.error("command_log_failed", id=request_id, error=str(exc))

    def _count(self, key: str) -> None:
        self.counters[key] = self.counters.get(key, 0) + 1

    # -- the commands ------------------------------------------------------------------------------

    async def ping(self, request: Request) -> dict[str, Any]:
        fields = self.context.status()
        return {"pong": True, "version": __version__, "config_sha256": fields["config_sha256"],
                "clock_synced": fields["clock_synced"], "last_seq": fields.get("last_seq"),
                "uptime_s": fields["uptime_s"]}

    async def override(self, request: Request) -> dict[str, Any]:
        rules = self._rules()
        args = request.args
        try:
            await rules.set_override(args["group"], args["level"], args["duration_s"], source="hypervisor")
        except ValueError as exc:
            raise CommandFailure(ErrorCode.OUT_OF_RANGE, str(exc)) from None
        return self._group_status(args["group"])

    async def clear_override(self, request: Request) -> dict[str, Any]:
        try:
            await self._rules().clear_override(request.args["group"], source="hypervisor")
        except ValueError as exc:
            raise CommandFailure(ErrorCode.OUT_OF_RANGE, str(exc)) from None
        return self._group_status(request.args["group"])

    def _rules(self) -> LightingGroups:
        rules = self.context.drivers.rules
        if rules is None:
            raise CommandFailure(ErrorCode.UNSUPPORTED, "this gateway runs no lighting rules")
        return rules

    def _group_status(self, group: str) -> dict[str, Any]:
        status = self._rules().group_status(group)
        return {"group": group, "override": status["override"], "level": status["level"]}

    async def read_device(self, request: Request) -> dict[str, Any]:
        name = request.args["device"]
        device = self.context.config.device(name)
        modbus = self.context.drivers.modbus
        if device.driver == "modbus" and modbus is not None:
            try:
                readings = await asyncio.wait_for(modbus.read_device(name), _READ_TIMEOUT)
            except Exception as exc:
                raise CommandFailure(ErrorCode.DEVICE_FAILED, f"{name} did not answer: {exc}") from None
            values = [{"point": r.point, "value": r.value, "unit": r.unit, "quality": r.quality.label,
                       "ts": iso_utc(r.ts)} for r in readings]
            return {"device": name, "source": "device", "readings": values}
        stored = await asyncio.to_thread(self.command_log.last_readings, name)
        values = [{"point": r["point"], "value": r["value"], "unit": r["unit"],
                   "quality": ("good", "uncertain", "bad")[int(r["quality"])], "ts": iso_utc(r["ts"]),
                   "seq": r["seq"]} for r in stored]
        return {"device": name, "source": "last_values", "readings": values}

    async def replay(self, request: Request) -> dict[str, Any]:
        first, last, limit = request.args["first"], request.args["last"], request.args["max_records"]
        records = await self.context.outbox.history(first, last, limit)
        truncated = len(records) == limit and records[-1].seq < last
        covered_last = records[-1].seq if truncated else last
        link, config = self.context.link, self.context.config
        messages = build_replay(config.gateway_id, request.id, records, config.upstream.sync.batch_max_bytes,
                                self.context.clock.now())
        try:
            for payload, _ in messages:
                link.publish_raw(link.topics.replay, payload)
        except LinkDown as exc:
            raise CommandFailure(ErrorCode.INTERNAL, f"the link went down during the replay: {exc}",
                                 retryable=True) from None
        sent = sum(len(seqs) for _, seqs in messages)
        return {"first": first, "last": covered_last, "count": sent, "messages": len(messages),
                "not_held": covered_last - first + 1 - len(records),
                "next": covered_last + 1 if truncated else None}

    async def config_push(self, request: Request) -> dict[str, Any] | None:
        return await push_config(self.context.loaded, self.context.restart, request.id, request.args["config"])

    async def config_confirm(self, request: Request) -> dict[str, Any]:
        awaiting, args = self.awaiting, request.args
        if awaiting is None or (awaiting.request_id, awaiting.sha256) != (args["request"], args["config_sha256"]):
            raise CommandFailure(ErrorCode.BAD_FIELD, "no pushed config with this request id and config_sha256 is"
                                 " waiting for a confirmation", "args.request")
        self.confirmed.set()
        log.info("config_trial_link_confirmed", request=awaiting.request_id)
        return {"request": awaiting.request_id, "config_sha256": awaiting.sha256, "confirmed": True}


_HANDLERS: dict[str, Handler] = {
    "ping": Dispatcher.ping,
    "override": Dispatcher.override,
    "clear_override": Dispatcher.clear_override,
    "read_device": Dispatcher.read_device,
    "replay": Dispatcher.replay,
    "config_push": Dispatcher.config_push,
    "config_confirm": Dispatcher.config_confirm,
}
