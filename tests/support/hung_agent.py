"""``python -m tests.support.hung_agent run ...``: the real agent, whose main loop wedges ``HUNG_AGENT_AFTER``
seconds after it starts beating (a blocking sleep on the event loop, so the process stays alive but says nothing).

A test stand-in for a hung agent, to show that only the main loop sends systemd's keep-alives: the production
agent has no such hook.
"""

from __future__ import annotations

import asyncio
import os
import time

from edge_agent.agent import Agent
from edge_agent.cli.main import main

_AFTER = float(os.environ["HUNG_AGENT_AFTER"])
_beat = Agent._heartbeat


async def _beat_then_wedge(self: Agent, stop: asyncio.Event) -> None:
    asyncio.get_running_loop().call_later(_AFTER, time.sleep, 3600)  # blocks the loop, as a stuck call would
    await _beat(self, stop)


Agent._heartbeat = _beat_then_wedge  # type: ignore[method-assign]
main()
