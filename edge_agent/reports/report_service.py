"""The daily reports service of the running agent: once a day, the report of the day before, committed to the
store as a ``report.daily`` event so that the uplink sends it like every other record (on the ``reports`` topic),
however long the uplink is down.

Each report is composed by ``compose``: in the agent, a process of its own (``process.ReportProcess``), which
reads the history on a read-only connection, so that the reports' code never stays in the daemon. Nothing waits
for the report: a failure is logged and tried again an hour later. Reports are made only while the clock is
synchronised (a report's day must be the real day).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta
from typing import Any

from edge_agent.cancellation import cancel_and_wait
from edge_agent.logs import get_logger
from edge_agent.reading import Event, Priority
from edge_agent.reports import due
from edge_agent.reports.process import ReportFailed
from edge_agent.services import ServiceContext
from edge_agent.store.history import HistoryReader

log = get_logger(__name__)

CHECK_S = 60.0
RETRY_S = 3600.0

Compose = Callable[[date, float], Awaitable[dict[str, Any] | None]]  # (day, made_at) -> the report's data, or None


class DailyReports:
    name = "reports"

    def __init__(self, context: ServiceContext, compose: Compose) -> None:
        self._config = context.config
        self._compose = compose
        self._sink = context.sink
        self._clock = context.clock
        self._done_through: date | None = None
        self._looked_back = False
        self._retry_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._reader: HistoryReader | None = None  # the look back in progress, interrupted at stop
        self.made = 0
        self.failed = 0
        self.last_day: str | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="reports")

    async def stop(self) -> None:
        reader = self._reader
        if reader is not None:  # a long read must not hold the agent's stop (its thread is waited for at exit)
            reader.interrupt()
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    def health(self) -> dict[str, object]:
        return {"made": self.made, "failed": self.failed, "last_day": self.last_day}

    async def _loop(self) -> None:
        while True:
            try:
                await self.check()
            except ReportFailed as exc:  # the agent's other work goes on; the report is tried again later
                self._failed()
                log.error("daily_report_failed", reason=str(exc), retry_s=RETRY_S)
            except Exception:
                self._failed()
                log.exception("daily_report_failed", retry_s=RETRY_S)
            await asyncio.sleep(CHECK_S)

    def _failed(self) -> None:
        self.failed += 1
        self._retry_at = self._clock.monotonic() + RETRY_S

    async def check(self) -> list[date]:
        """Make the reports that are due; return their days."""
        if not self._clock.synced() or self._clock.monotonic() < self._retry_at:
            return []
        now = self._clock.now()
        if not self._looked_back:
            last = await asyncio.to_thread(self._last_reported, now)
            # Never reported (a new gateway, or reports just turned on): start with the last day due, not a week.
            self._done_through = last if last is not None else due.due_day(now, self._config) - timedelta(days=1)
            self._looked_back = True
        made = []
        for day in due.days_due(now, self._config, self._done_through):
            data = await self._compose(day, now)
            if data is not None:
                await self._sink.submit([Event(due.KIND, now, Priority.INFO, None, due.message(day), data)])
                self.made += 1
                self.last_day = day.isoformat()
                made.append(day)
                log.info("daily_report_made", day=day.isoformat())
            self._done_through = day
        return made

    def _last_reported(self, now: float) -> date | None:
        """The last day a report was made for, from the store (the catch-up window and a little more)."""
        since = now - (self._config.reports.catch_up_days + 3) * 86_400.0
        found: date | None = None
        with self._reading() as reader:
            for stored in reader.events(since, now + 1.0, (due.KIND,)):
                day = due.reported_day(getattr(stored.record, "data", {}))
                if day is not None and (found is None or day > found):
                    found = day
        return found

    @contextlib.contextmanager
    def _reading(self) -> Iterator[HistoryReader]:
        reader = self._reader = HistoryReader(self._config.store.path)
        try:
            yield reader
        finally:
            self._reader = None
            reader.close()


def build_service(context: ServiceContext, compose: Compose) -> DailyReports | None:
    """The daily reports, composed by ``compose``, unless ``reports.daily`` is off."""
    if not context.config.reports.daily:
        return None
    return DailyReports(context, compose)
