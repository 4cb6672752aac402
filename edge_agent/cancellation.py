"""Stopping tasks for good.

On Python 3.11, ``asyncio.wait_for`` returns its inner result instead of raising when a cancellation and that
result arrive in the same turn of the loop: the cancel is swallowed and the task runs on (fixed in 3.12). A task
cancelled once and then awaited may therefore never end; these cancel again until it has.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

_RECHECK_S = 0.05


async def cancel_until_ended(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until every one has ended, cancelling again any that ran on; how each ended is
    left in it (``task.exception()``)."""
    running = {task for task in tasks if not task.done()}
    while running:
        for task in running:
            task.cancel()
        _, running = await asyncio.wait(running, timeout=_RECHECK_S)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """``cancel_until_ended``, then an exception a task ended with (other than its cancellation) is raised, as
    awaiting it would."""
    tasks = list(tasks)
    await cancel_until_ended(tasks)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
