"""CPU cost of the hypervisor contract's pure parts: validating a command request, encoding readings as NGSI-LD
beside the native format, and cutting a 5,000-record replay into messages.

Run: ``.venv/bin/python -m bench.contract_bench``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from bench.common import env_summary, report
from edge_agent.commands.requests import Known, parse_request
from edge_agent.config.site import SiteConfig
from edge_agent.contract.ngsi_ld import NgsiLdEncoder
from edge_agent.reading import Reading
from edge_agent.store.rows import StoredRecord
from edge_agent.sync.lanes import Lane
from edge_agent.sync.payloads import build_batch, build_replay

NOW = time.time()
SITE = SiteConfig.model_validate({
    "gateway_id": "gw", "site": {"commune": "Esternay", "latitude": 48.7328, "longitude": 3.5603},
    "devices": [{"driver": "lorawan", "name": f"bin-{n}", "dev_eui": f"{n:016x}", "codec": "dingtek_df702"}
                for n in range(50)],
})


def per_call_us(fn: Callable[[], object], repeat: int) -> float:
    began = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - began) / repeat * 1e6


def records(count: int) -> list[StoredRecord]:
    points = ("fill_level", "temperature", "distance")
    return [StoredRecord(n + 1, Reading(f"bin-{(n // 3) % 50}", points[n % 3], 42.5, NOW - count + n // 3, "%"),
                         False) for n in range(count)]


def main() -> None:
    request = json.dumps({"v": 1, "id": "bench-1", "command": "override", "sent_at": "2026-11-28T21:00:00.000Z",
                          "args": {"group": "rue", "level": 40, "duration_s": 3600}}).encode()
    known = Known(devices=frozenset({"bin-1"}), groups=frozenset({"rue"}))
    parse_us = per_call_us(lambda: parse_request(request, now=NOW, max_age=1e9, clock_synced=True, known=known,
                                                 replay_max=5000), 20_000)
    batch_records = records(500)
    native = build_batch("gw", Lane.LIVE, batch_records, 128_000, NOW)
    carried = batch_records[: len(native.seqs)]
    encoder = NgsiLdEncoder(SITE)
    native_us = per_call_us(lambda: build_batch("gw", Lane.LIVE, batch_records, 128_000, NOW), 50) / len(carried)
    ngsi_us = per_call_us(lambda: encoder(native, carried), 50) / len(carried)
    ngsi_bytes = len(encoder(native, carried)) / len(carried)
    replay_records = records(5000)
    replay_us = per_call_us(lambda: build_replay("gw", "r", replay_records, 128_000, NOW), 5) / 5000
    messages = build_replay("gw", "r", replay_records, 128_000, NOW)
    report(f"contract, pure parts ({env_summary()})", {
        "request validation, µs per request": parse_us,
        "native batch, µs per record": native_us,
        "native batch, bytes per record": len(native.payload) / len(native.seqs),
        "NGSI-LD batch, µs per record": ngsi_us,
        "NGSI-LD batch, bytes per record": ngsi_bytes,
        "replay of 5,000 records, µs per record": replay_us,
        "replay of 5,000 records, messages of <=128 kB": len(messages),
    })


if __name__ == "__main__":
    main()
