"""The rules engine service: a tick loop on the injected clock that runs the pure rules and carries out actions.

Readings arrive through ``on_queued`` as the group commit queues them (cheap: they go into a bounded inbox, the
oldest dropped and counted when it is full); with alarm rules they are judged at once, else at the next tick.
Alarms and action outcomes are Events handed to the sink, which commits an alarm with its reading or after it.
Tests drive it with ``await engine.tick()`` on a FakeClock, without starting the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from edge_agent.cancellation import cancel_and_wait
from edge_agent.clock import plausible
from edge_agent.logs import get_logger
from edge_agent.reading import Event, Priority, Reading, Record
from edge_agent.rules.actions import ActionOutcome, ActionPort, SetLevel
from edge_agent.rules.config import Group
from edge_agent.rules.overrides import Overrides, resume_saved
from edge_agent.rules.programs import NightPlan, Place, night_plan
from edge_agent.rules.scheduler import MemberState, RetryPolicy, Target, after, due, target
from edge_agent.rules.sun import is_dark, night_of
from edge_agent.rules.thresholds import AlarmChange, Alarms
from edge_agent.services import ServiceContext
from edge_agent.store.override_book import OverrideBook, OverrideBookError, SavedOverride

log = get_logger(__name__)

INBOX_SIZE = 10_000
ACTION_TIMEOUT_S = 30.0
PARALLEL_ACTIONS = 8


class RulesEngine:
    """Lighting programs, overrides and alarm rules of one site."""

    name = "rules"

    def __init__(self, context: ServiceContext, actions: ActionPort, *, inbox_size: int = INBOX_SIZE,
                 overrides_path: Path | None = None) -> None:
        config = context.config
        self._lighting = config.lighting
        self._place = Place(config.site.latitude, config.site.longitude, config.site.timezone)
        self._clock = context.clock
        self._sink = context.sink
        self._port = actions
        self._policy = RetryPolicy(self._lighting.action_attempts, self._lighting.action_retry_s)
        self._members = {g.name: [MemberState(m.device, m.point) for m in g.members] for g in self._lighting.groups}
        self._overrides = Overrides()
        self._overrides_path = overrides_path  # the SQLite file keeping overrides across restarts; None: memory only
        self._book: OverrideBook | None = None
        self._saved: list[SavedOverride] = []  # loaded at start, waiting for the first tick (or the clock) to resume
        self._unplaced: set[str] = set()  # groups whose saved override has no wall-clock end yet (clock unsynced)
        self._alarms = Alarms(config.alarms, [d.name for d in config.devices], context.clock.now())
        self._inbox: deque[Reading] = deque(maxlen=inbox_size)
        self._plans: dict[tuple[str, date], NightPlan] = {}
        self._targets: dict[str, Target] = {}
        self._plan_errors: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watching = bool(config.alarms)
        self._judging: asyncio.Handle | None = None
        self._alarm_tasks: set[asyncio.Task[list[Event]]] = set()
        self.dropped = 0
        self.bad_readings = 0  # readings the alarm rules could not judge (skipped, counted)
        self.group_failures = 0
        self.ticks = 0
        self.actions_done = 0
        self.actions_failed = 0

    # -- the lead's interface ----------------------------------------------------------------------

    def on_queued(self, records: Sequence[Record]) -> None:
        """Take readings as the group commit queues them; never blocks, drops the oldest when the inbox is full.
        When alarm rules exist, the readings are judged as soon as the loop is free, not at the next tick, and
        not after their commit either: the alarm is queued behind its reading, and an event is committed at once
        with what is queued before it, so the two reach the store in one commit (or the reading in the one before)
        within moments, even with commits 10 s apart."""
        taken = False
        for record in records:
            if isinstance(record, Reading):
                if len(self._inbox) == self._inbox.maxlen:
                    self.dropped += 1
                self._inbox.append(record)
                taken = True
        if taken and self._watching and self._judging is None and self._task is not None:
            self._judging = asyncio.get_running_loop().call_soon(self._judge_soon)

    def _judge_soon(self) -> None:
        """Judge on the loop (most submissions raise nothing: no task for them); a task submits what changed."""
        self._judging = None
        if self._task is None or self._task.done():  # the service is not running
            return
        events = self._judged_events()
        if events:
            task = asyncio.get_running_loop().create_task(self._submit_alarms(events), name="rules-alarms")
            self._alarm_tasks.add(task)
            task.add_done_callback(self._alarm_tasks.discard)

    async def judge_now(self) -> list[Event]:
        """Judge the readings waiting in the inbox against the alarm rules and submit the changes; the events."""
        events = self._judged_events()
        return await self._submit_alarms(events) if events else []

    def _judged_events(self) -> list[Event]:
        try:
            return [_alarm_event(change, self._clock.synced()) for change in self._judge_inbox(self._clock.synced())]
        except Exception:  # the next tick judges again; a bug here never stops the rules
            log.exception("rules_alarm_judging_failed")
            return []

    async def _submit_alarms(self, events: list[Event]) -> list[Event]:
        try:
            await self._sink.submit(events)
        except Exception:  # the store reports itself; a failed submission never stops the rules
            log.exception("rules_alarm_submit_failed")
            return []
        return events

    async def set_override(self, group: str, level: int | None, duration_s: float | None = None,
                           source: str = "manual") -> None:
        """Hold ``group`` at ``level`` for ``duration_s`` (None: until cleared); level None resumes the program.

        In force at once, saved so that a restart resumes it, and recorded as an event that goes upstream."""
        if group not in self._members:
            raise ValueError(f"no lighting group '{group}'; groups: {', '.join(sorted(self._members))}")
        self._overrides.set(group, level, duration_s, self._clock.monotonic(), source)
        self._saved = [saved for saved in self._saved if saved.group != group]
        self._wake.set()
        log.info("lighting_override", group=group, percent=level, duration_s=duration_s, source=source)
        now = self._clock.now()
        ends_at = now + duration_s if duration_s is not None and self._clock.synced() else None
        self._unplaced.discard(group)
        if level is None:
            await self._unsave(group)
        else:
            if duration_s is not None and ends_at is None:
                self._unplaced.add(group)
            await self._save(SavedOverride(group, level, duration_s, ends_at, now, source))
        held = f"held at {level} %" + ("" if duration_s is None else f" for {_span(duration_s)}")
        await self._sink.submit([Event(
            kind="lighting.override", ts=now, priority=Priority.INFO, clock_synced=self._clock.synced(),
            message=f"group {group}: {'program resumes' if level is None else held} (by {source})",
            data={"group": group, "level": level, "duration_s": duration_s, "source": source})])

    async def clear_override(self, group: str, source: str = "manual") -> None:
        await self.set_override(group, None, source=source)

    async def load_saved(self) -> None:
        """Read the overrides saved before a restart; the next tick resumes what is left of them."""
        try:
            if self._overrides_path is not None and self._book is None:
                self._book = await asyncio.to_thread(OverrideBook, self._overrides_path)
            if self._book is not None:
                self._saved = await asyncio.to_thread(self._book.load)
        except OverrideBookError as exc:  # the lights matter more than remembering overrides: run without
            log.error("lighting_overrides_unavailable", path=str(self._overrides_path), error=str(exc))
            self._book = None

    async def _save(self, saved: SavedOverride) -> None:
        if self._book is None:
            return
        try:
            await asyncio.to_thread(self._book.save, saved)
        except OverrideBookError as exc:  # in force all the same; only a restart would lose it
            log.error("lighting_override_not_saved", group=saved.group, error=str(exc))

    async def _unsave(self, group: str) -> None:
        if self._book is None:
            return
        try:
            await asyncio.to_thread(self._book.delete, group)
        except OverrideBookError as exc:
            log.error("lighting_override_not_removed", group=group, error=str(exc))

    async def _place_overrides(self, now: float, mono: float) -> None:
        """The clock is synchronised: give the overrides set or resumed before it their wall-clock end, so that a
        later restart resumes them for what is left rather than for their whole duration again."""
        for group in sorted(self._unplaced):
            override = self._overrides.get(group, mono)
            self._unplaced.discard(group)
            if override is None or override.expires_mono is None:
                continue
            left = override.expires_mono - mono
            await self._save(SavedOverride(group, override.level, left, now + left, now, override.source))

    async def _resume_saved(self, now: float, mono: float, synced: bool) -> list[Event]:
        events, waiting = [], []
        for saved in list(self._saved):
            if saved not in self._saved:  # a newer override for its group came while this loop awaited
                continue
            if saved.group not in self._members:  # the group left the config
                await self._unsave(saved.group)
                continue
            decision = resume_saved(saved.duration_s, saved.ends_at, now, synced)
            if decision.verdict == "wait":
                waiting.append(saved)
            elif decision.verdict == "ended":
                await self._unsave(saved.group)
                events.append(self._expired_event(saved.group, now, while_stopped=True))
            else:
                self._overrides.set(saved.group, saved.level, decision.remaining_s, mono, saved.source)
                if saved.duration_s is not None and saved.ends_at is None:
                    self._unplaced.add(saved.group)
                log.info("lighting_override_resumed", group=saved.group, percent=saved.level,
                         remaining_s=decision.remaining_s, source=saved.source)
        self._saved = [saved for saved in self._saved if saved in waiting]
        return events

    def groups_status(self) -> list[dict[str, Any]]:
        now, mono = self._clock.now(), self._clock.monotonic()
        return [self._group_status(group.name, group.category.value, now, mono) for group in self._lighting.groups]

    def group_status(self, name: str) -> dict[str, Any]:
        """One group's entry of ``groups_status``; KeyError for a group the config does not have."""
        group = self._lighting.group(name)
        return self._group_status(group.name, group.category.value, self._clock.now(), self._clock.monotonic())

    def active_alarms(self) -> list[tuple[str, str, str | None]]:
        """The alarm rules raised now, as (rule name, device, point)."""
        return self._alarms.active()

    def plan(self, group: str, now: float) -> NightPlan:
        """The plan of the night holding ``now`` (cached for the current and the previous night)."""
        evening = night_of(now, self._place.timezone)
        key = (group, evening)
        if key not in self._plans:
            self._plans = {k: v for k, v in self._plans.items() if (evening - k[1]).days < 2}
            self._plans[key] = night_plan(self._lighting, group, evening, self._place)
        return self._plans[key]

    # -- the service -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.load_saved()
        self._task = asyncio.create_task(self._loop(), name="rules")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
        if self._book is not None:
            await asyncio.to_thread(self._book.close)
            self._book = None

    def health(self) -> dict[str, object]:
        return {
            "ticks": self.ticks,
            "inbox": len(self._inbox),
            "dropped": self.dropped,
            "bad_readings": self.bad_readings,
            "group_failures": self.group_failures,
            "actions_done": self.actions_done,
            "actions_failed": self.actions_failed,
            "alarms_active": len(self._alarms.active()),
            "bad_values": self._alarms.bad_values,
        }

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a bug in one tick must not stop the lights for the rest of the night
                log.exception("rules_tick_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._lighting.tick_s)
            self._wake.clear()

    async def tick(self, now: float | None = None) -> list[SetLevel]:
        """Judge pending readings, let alarm durations run, write the levels due; returns the writes made."""
        now = self._clock.now() if now is None else now
        mono, synced = self._clock.monotonic(), self._clock.synced()
        self.ticks += 1
        events = await self._resume_saved(now, mono, synced) if self._saved else []
        if synced and self._unplaced:
            await self._place_overrides(now, mono)
        for gone in self._overrides.expire(mono):
            await self._unsave(gone.group)
            events.append(self._expired_event(gone.group, now))
        changes = self._judge_inbox(synced)
        if synced:
            changes.extend(self._poll_alarms(now))
        events.extend(_alarm_event(change, synced) for change in changes)
        actions = self._due_actions(now, mono, synced)
        events.extend(await self._carry_out(actions, now))
        if events:
            await self._sink.submit(events)
        return actions

    # -- lighting ----------------------------------------------------------------------------------

    def _due_actions(self, now: float, mono: float, synced: bool) -> list[SetLevel]:
        actions: list[SetLevel] = []
        for group in self._lighting.groups:
            try:
                actions.extend(self._group_actions(group, now, mono, synced))
            except Exception:  # one group that cannot be worked out never holds back the others
                self.group_failures += 1
                if self.group_failures in (1, 10, 100) or self.group_failures % 1000 == 0:
                    log.exception("lighting_group_failed", group=group.name, count=self.group_failures)
        return actions

    def _group_actions(self, group: Group, now: float, mono: float, synced: bool) -> list[SetLevel]:
        plan = self._safe_plan(group.name, now) if synced else None
        safe = group.safe_level if group.safe_level is not None else self._lighting.safe_level
        goal = target(plan, self._overrides.level(group.name, mono), safe, now, synced)
        if self._targets.get(group.name) != goal:
            log.info("lighting_target", group=group.name, percent=goal.level, source=goal.source)
            self._targets[group.name] = goal
        return due(group.name, goal, self._members[group.name], mono)

    def _safe_plan(self, group: str, now: float) -> NightPlan | None:
        """The group's plan, or None (its override or safe level then) when it cannot be worked out."""
        try:
            plan = self.plan(group, now)
        except Exception as exc:  # SunError (polar night), or anything a date at the edge of the calendar raises
            if group not in self._plan_errors:
                log.error("lighting_plan_failed", group=group, error=f"{type(exc).__name__}: {exc}")
                self._plan_errors.add(group)
            return None
        self._plan_errors.discard(group)
        return plan

    async def _carry_out(self, actions: list[SetLevel], now: float) -> list[Event]:
        limit = asyncio.Semaphore(PARALLEL_ACTIONS)

        async def one(action: SetLevel) -> ActionOutcome:
            async with limit:
                return await self._attempt(action)

        outcomes = await asyncio.gather(*(one(action) for action in actions))
        mono = self._clock.monotonic()
        events = []
        for action, outcome in zip(actions, outcomes, strict=True):
            self._record(action, outcome, mono)
            events.append(self._action_event(action, outcome, now))
        return events

    async def _attempt(self, action: SetLevel) -> ActionOutcome:
        try:
            return await asyncio.wait_for(
                self._port.set_level(action.device, action.point, action.level), ACTION_TIMEOUT_S
            )
        except TimeoutError:
            return ActionOutcome(ok=False, error=f"no answer within {ACTION_TIMEOUT_S:.0f} s")
        except Exception as exc:  # the port's failures become outcomes, never a stopped engine
            return ActionOutcome(ok=False, error=f"{type(exc).__name__}: {exc}")

    def _record(self, action: SetLevel, outcome: ActionOutcome, mono: float) -> None:
        members = self._members[action.group]
        for index, member in enumerate(members):
            if (member.device, member.point) == (action.device, action.point):
                members[index] = after(member, action, outcome, mono, self._policy)
        if _done(action, outcome):
            self.actions_done += 1
            if action.attempt > 1:
                log.info("lighting_write_recovered", device=action.device, point=action.point, percent=action.level)
        else:
            self.actions_failed += 1
            if action.attempt in {1, self._policy.attempts}:
                log.warning("lighting_write_failed", device=action.device, point=action.point,
                            level=action.level, attempt=action.attempt, error=outcome.error)

    def _action_event(self, action: SetLevel, outcome: ActionOutcome, now: float) -> Event:
        done = _done(action, outcome)
        gave_up = not done and action.attempt >= self._policy.attempts
        priority = Priority.INFO if done else (Priority.ALARM if gave_up else Priority.WARNING)
        where = f"{action.device}.{action.point}" if action.point else action.device
        error = outcome.error or f"read back {outcome.read_back} %"
        verdict = "done" if done else f"failed ({error})"
        return Event(
            kind="lighting.set_level", ts=now, priority=priority, device=action.device,
            message=f"group {action.group}: {where} to {action.level} % ({action.reason}): {verdict}",
            data={"group": action.group, "point": action.point, "level": action.level, "reason": action.reason,
                  "attempt": action.attempt, "ok": done, "read_back": outcome.read_back,
                  "error": outcome.error},
            clock_synced=self._clock.synced(),
        )

    def _expired_event(self, group: str, now: float, *, while_stopped: bool = False) -> Event:
        log.info("lighting_override_expired", group=group, while_stopped=while_stopped)
        when = " while the agent was stopped" if while_stopped else ""
        return Event(kind="lighting.override_expired", ts=now, priority=Priority.INFO,
                     message=f"group {group}: override expired{when}, program resumes", data={"group": group})

    def _group_status(self, group: str, category: str, now: float, mono: float) -> dict[str, Any]:
        goal = self._targets.get(group)
        override = self._overrides.get(group, mono)
        plan = self._safe_plan(group, now) if self._clock.synced() else None
        upcoming = plan.next_change(now) if plan else None
        return {
            "group": group,
            "category": category,
            "level": goal.level if goal else None,
            "source": goal.source if goal else None,
            "override": None if override is None else {
                "level": override.level,
                "source": override.source,
                "remaining_s": None if override.expires_mono is None else round(override.expires_mono - mono),
            },
            "next_change": None if upcoming is None else {
                "at": datetime.fromtimestamp(upcoming.ts, UTC).isoformat(), "level": upcoming.level,
            },
            "members": [
                {"device": m.device, "point": m.point, "confirmed": m.confirmed, "failures": m.failures}
                for m in self._members[group]
            ],
        }

    # -- alarms ------------------------------------------------------------------------------------

    def _judge_inbox(self, synced: bool) -> list[AlarmChange]:
        """Every pending reading; one that cannot be judged (a time out of range, a value no rule foresaw) is
        counted and logged, and never stops the tick: the levels and overrides are applied all the same."""
        changes: list[AlarmChange] = []
        while self._inbox:
            reading = self._inbox.popleft()
            try:
                changes.extend(self._judge(reading, synced))
            except Exception:
                self._bad_reading(reading, exc_info=True)
        return changes

    def _judge(self, reading: Reading, synced: bool) -> list[AlarmChange]:
        if not plausible(reading.ts):
            self._bad_reading(reading, exc_info=False)
            return []
        place = self._place
        dark = not synced or is_dark(reading.ts, place.latitude, place.longitude, place.timezone)
        return self._alarms.observe(reading, self._commanded, dark)

    def _bad_reading(self, reading: Reading, *, exc_info: bool) -> None:
        self.bad_readings += 1
        if self.bad_readings in (1, 10, 100) or self.bad_readings % 1000 == 0:
            log.warning("rules_reading_skipped", device=reading.device, point=reading.point, ts=str(reading.ts),
                        count=self.bad_readings, exc_info=exc_info)

    def _poll_alarms(self, now: float) -> list[AlarmChange]:
        try:
            return self._alarms.poll(now)
        except Exception:
            log.exception("rules_alarm_poll_failed")
            return []

    def _commanded(self, device: str, point: str) -> int | None:
        for members in self._members.values():
            for member in members:
                if member.device == device and member.point == point:
                    return member.confirmed
        return None


def _span(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def _done(action: SetLevel, outcome: ActionOutcome) -> bool:
    return outcome.ok and outcome.read_back in {None, action.level}


def _alarm_event(change: AlarmChange, synced: bool) -> Event:
    log.warning("alarm_raised" if change.raised else "alarm_cleared", rule=change.rule, device=change.device,
                point=change.point, value=change.value)
    return Event(
        kind="alarm.raised" if change.raised else "alarm.cleared",
        ts=change.ts,
        priority=Priority[change.priority.upper()],
        device=change.device,
        message=change.message,
        data={"rule": change.rule, "point": change.point, "value": change.value},
        clock_synced=synced,
    )


def build_service(context: ServiceContext, actions: ActionPort) -> RulesEngine | None:
    """The rules engine for this site, or None when the config has no lighting groups and no alarm rules."""
    config = context.config
    if not config.lighting.groups and not config.alarms:
        return None
    return RulesEngine(context, actions, overrides_path=config.store.path)
