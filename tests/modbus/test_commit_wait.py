"""A poller under long group commits (``store.commit_interval`` up to 10 s, the SD-card setting): every poll made
while a commit is awaited goes into that commit, none is held back for the one after. Against a real pymodbus
server; the sink stands in for the group commit (its futures resolve when the test commits), as the agent's
committer does."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from edge_agent.config.site import SiteConfig
from edge_agent.modbus.modbus_service import build_service
from edge_agent.modbus.poller import submissions_in_flight
from edge_agent.modbus.simulator import make_units, start_tcp
from edge_agent.reading import Record
from tests.modbus.helpers import context, device, run_async, site
from tests.support.ports import free_port


class CommitLater:
    """Each submission's future resolves at the next ``commit()``, like the agent's group commit."""

    def __init__(self) -> None:
        self.waiting: list[asyncio.Future[list[int]]] = []
        self.submitted = 0

    def submit(self, records: Sequence[Record]) -> asyncio.Future[list[int]]:
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        self.submitted += 1
        return future

    def commit(self) -> int:
        done, self.waiting = self.waiting, []
        for future in done:
            future.set_result([])
        return len(done)


def test_the_submissions_a_device_may_leave_awaiting_cover_every_poll_of_one_commit() -> None:
    assert submissions_in_flight(1.0, 10.0) == 8, "at the defaults, the floor"
    assert submissions_in_flight(10.0, 1.0) == 12, "a meter polled every second under commits every 10 s"
    assert submissions_in_flight(1.0, 0.1) == 12
    assert submissions_in_flight(10.0, 0.0) > 1000, "a zero interval never divides by zero"


def _config(devices: list[dict[str, object]], commit_interval: float) -> SiteConfig:
    data = site(devices).model_dump(mode="json", exclude_unset=True)
    return SiteConfig.model_validate({**data, "store": {"path": "/tmp/unused.db", "commit_interval": commit_interval}})


def test_polls_made_while_a_long_commit_is_awaited_all_go_into_it() -> None:
    async def scenario(commit_interval: float) -> tuple[int, int, int]:
        port = free_port()
        server = await start_tcp(make_units({1: "eastron_sdm120"}), port)
        sink = CommitLater()
        service = build_service(context(_config(
            [device("meter", "eastron_sdm120", host="127.0.0.1", port=port, unit=1, poll_interval=0.1)],
            commit_interval), sink))  # type: ignore[arg-type]
        assert service is not None
        await service.start()
        await asyncio.sleep(1.5)  # fifteen polls' time, no commit yet
        before_commit = sink.submitted
        committed = sink.commit()
        await asyncio.sleep(0.35)
        after = sink.submitted - before_commit
        await service.stop()
        sink.commit()
        await server.shutdown()  # type: ignore[no-untyped-call]
        return before_commit, committed, after

    held, committed, after = run_async(scenario(commit_interval=2.0))  # up to 22 may wait
    assert held >= 12, f"the poller stopped at {held} polls awaiting one commit: the next ones would wait for two"
    assert committed == held and after >= 2, "the commit took them all, and polling went on"
    capped, _, _ = run_async(scenario(commit_interval=0.5))  # up to 8 may wait: a store behind holds the poller
    assert capped == 8
