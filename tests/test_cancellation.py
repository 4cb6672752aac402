"""Stopping tasks for good, even one that swallows a cancellation (as ``asyncio.wait_for`` does on Python 3.11 when
the cancellation and its inner result arrive in the same turn of the loop)."""

from __future__ import annotations

import asyncio

import pytest

from edge_agent.cancellation import cancel_and_wait, cancel_until_ended


async def _swallows_first_cancel(forever: asyncio.Event, swallowed: list[int]) -> None:
    try:
        await forever.wait()
    except asyncio.CancelledError:
        swallowed.append(1)  # runs on, as a pump whose wait_for returned its result instead of raising
    await forever.wait()


def test_a_task_that_swallowed_its_cancel_is_cancelled_again_until_it_ends() -> None:
    async def scenario() -> list[int]:
        forever, swallowed = asyncio.Event(), list[int]()
        task = asyncio.create_task(_swallows_first_cancel(forever, swallowed))
        await asyncio.sleep(0)
        await asyncio.wait_for(cancel_and_wait([task]), 2.0)  # a single cancel then await would hang here
        assert task.cancelled()
        return swallowed

    assert asyncio.run(scenario()) == [1]


def test_a_task_failure_is_raised_and_finished_tasks_are_fine() -> None:
    async def fails() -> None:
        raise ValueError("broken pump")

    async def scenario() -> None:
        done = asyncio.create_task(asyncio.sleep(0))
        broken = asyncio.create_task(fails())
        await asyncio.sleep(0.01)
        await cancel_and_wait([done, broken])

    with pytest.raises(ValueError, match="broken pump"):
        asyncio.run(scenario())


def test_cancel_until_ended_leaves_each_outcome_in_its_task() -> None:
    async def fails() -> None:
        raise ValueError("broken poller")

    async def scenario() -> tuple[asyncio.Task[None], asyncio.Task[None], list[int]]:
        forever, swallowed = asyncio.Event(), list[int]()
        runs_on = asyncio.create_task(_swallows_first_cancel(forever, swallowed))
        broken = asyncio.create_task(fails())
        await asyncio.sleep(0.01)
        await asyncio.wait_for(cancel_until_ended([runs_on, broken]), 2.0)
        return runs_on, broken, swallowed

    runs_on, broken, swallowed = asyncio.run(scenario())
    assert swallowed == [1] and runs_on.cancelled()
    assert isinstance(broken.exception(), ValueError)
