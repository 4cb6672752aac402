"""The command service: requests from the uplink into a bounded queue, carried out one at a time, answered on
the responses topic; and the end of a config trial (confirm when healthy, roll back when not)."""

from __future__ import annotations

import asyncio
import contextlib

from edge_agent.cancellation import cancel_and_wait
from edge_agent.commands.context import CommandContext
from edge_agent.commands.dispatcher import Dispatcher
from edge_agent.commands.errors import CommandFailure, ErrorCode
from edge_agent.commands.memory import RecentAnswers
from edge_agent.commands.requests import readable_id
from edge_agent.commands.trial import ConfigTrial, Marker
from edge_agent.errors import LinkDown
from edge_agent.logs import get_logger
from edge_agent.store.command_log import CommandLog
from edge_agent.sync.payloads import response_payload

log = get_logger(__name__)

_PUBLISH_WAIT = 30.0


class CommandService:
    """Implements the Service protocol. Built by the agent after the uplink, started last, stopped first.

    ``trial``: the pushed config found on trial (or rolled back) at boot, to confirm or to answer for."""

    name = "commands"

    def __init__(self, context: CommandContext, trial: Marker | None = None) -> None:
        self._context = context
        self._trial = trial
        self._settings = context.config.upstream.commands
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=self._settings.queue)
        self._tasks: list[asyncio.Task[None]] = []
        self._log: CommandLog | None = None
        self._dispatcher: Dispatcher | None = None
        self.dropped = 0

    async def start(self) -> None:
        store_path = self._context.config.store.path
        self._log = await asyncio.to_thread(CommandLog, store_path, self._settings.remembered_ids)
        answers = RecentAnswers(self._settings.remembered_ids)
        for request_id, answer in await asyncio.to_thread(self._log.recent):
            answers.remember(request_id, answer)
        self._dispatcher = Dispatcher(self._context, answers, self._log)
        link = self._context.link
        link.message_handler = self._on_message  # from now on; those that came before are waiting
        for topic, payload in link.take_early_messages():
            self._on_message(topic, payload)
        self._tasks = [asyncio.create_task(self._work(), name="commands")]
        marker = self._trial
        if marker is not None:
            answers.start(marker.request_id)  # a repeat during the trial: "in_progress", not run again
            if marker.state == "trying" and marker.confirm:
                self._dispatcher.awaiting = marker
            self._tasks.append(asyncio.create_task(self._end_trial(marker), name="config-trial"))

    async def stop(self) -> None:
        self._context.link.message_handler = None
        await cancel_and_wait(self._tasks)
        if self._log is not None:
            await asyncio.to_thread(self._log.close)

    def health(self) -> dict[str, object]:
        counters = dict(self._dispatcher.counters) if self._dispatcher else {}
        return {"queued": self._queue.qsize(), "dropped": self.dropped, "answers": counters}

    # -- requests ----------------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic != self._context.link.topics.commands:
            return  # only the commands topic itself carries requests
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("commands_queue_full", dropped=self.dropped, size=self._queue.maxsize)
            self._refuse_busy(payload)

    def _refuse_busy(self, payload: bytes) -> None:
        request_id = readable_id(payload)
        if request_id is not None:
            failure = CommandFailure(ErrorCode.BUSY, "too many requests waiting; send it again later")
            self._publish(response_payload(request_id, None, self._context.clock.now(), error=failure.as_json()))

    async def _work(self) -> None:
        assert self._dispatcher is not None
        while True:
            payload = await self._queue.get()
            try:
                answer = await self._dispatcher.handle(payload)
            except Exception:  # the dispatcher answers everything; this is the last guard
                log.exception("command_handler_crashed")
                continue
            if answer is not None:
                self._publish(answer)

    def _publish(self, answer: bytes) -> None:
        link = self._context.link
        try:
            link.publish_raw(link.topics.responses, answer)
        except LinkDown:
            log.warning("command_answer_not_sent", reason="upstream down; a repeat of the id gets it")

    # -- the end of a config trial -----------------------------------------------------------------

    async def _end_trial(self, marker: Marker) -> None:
        assert self._dispatcher is not None
        trial = ConfigTrial(self._context.loaded.path)
        now = self._context.clock.now
        if marker.state == "trying":
            loop = asyncio.get_running_loop()
            deadline = loop.time() + marker.deadline_s
            reason = None
            if not await self._healthy_within(marker.deadline_s):
                reason = f"the agent was not healthy within {marker.deadline_s:g} s: upstream not connected"
            elif marker.confirm and not await self._confirmed_within(deadline - loop.time()):
                reason = (f"the hypervisor did not confirm the pushed config over the new upstream link within "
                          f"{marker.deadline_s:g} s (config_confirm)")
            if reason is not None:
                await asyncio.to_thread(trial.roll_back, reason)
                self._context.restart("config trial failed")
                return
            answer = response_payload(marker.request_id, "config_push", now(),
                                      result={"config_sha256": marker.sha256, "applied": True})
            log.info("config_trial_confirmed", request=marker.request_id, sha256=marker.sha256)
        else:
            failure = CommandFailure(ErrorCode.ROLLED_BACK, f"the pushed config was rolled back: {marker.reason}")
            answer = response_payload(marker.request_id, "config_push", now(), error=failure.as_json())
        # The trial is forgotten (durably) before its answer is remembered: a power cut between the two leaves a
        # repeat of the request to run again on the config in force, never an answer the files contradict.
        await asyncio.to_thread(trial.finish)
        await self._dispatcher.remember(marker.request_id, answer)
        if await self._healthy_within(_PUBLISH_WAIT):
            self._publish(answer)

    async def _confirmed_within(self, seconds: float) -> bool:
        assert self._dispatcher is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._dispatcher.confirmed.wait(), max(seconds, 0.0))
        self._dispatcher.awaiting = None
        return self._dispatcher.confirmed.is_set()

    async def _healthy_within(self, seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if self._context.link.connected:
                return True
            await asyncio.sleep(0.1)
        return self._context.link.connected
