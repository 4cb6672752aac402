"""A deliberately broken outbox, for the suite's own test of its teeth (never shipped, never imported by the agent).

Put on the agent process's PYTHONPATH, Python imports it at start-up; it patches the uplink so that a batch is
marked sent in the store as soon as it is handed to the MQTT client, without waiting for the broker's PUBACK,
the bug Neuron shipped. A crash between the publish and the PUBACK then loses the batch, and the crash scenario
must say so.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the checkout, before ``-m`` would add it

from edge_agent.sync import uplink

_original = uplink.UplinkSync._publish_batch


async def _ack_at_publish(self: Any, pick: Any, records: Any, now: float) -> bool:
    sent = await _original(self, pick, records, now)
    for mid in list(self._inflight):
        entry = self._inflight.pop(mid)
        await self._worker.call(self._worker.store.ack, entry.seqs)
    return sent


uplink.UplinkSync._publish_batch = _ack_at_publish  # type: ignore[method-assign]
