"""Store benchmark: readings/s committed and bytes written to disk per reading, by batch size and sync mode.

Workload: readings of ~60 bytes of payload (device, point, float, unit) appended through Store.append, the path
every driver's records take. Physical reference: FIELD-NOTES measured WAL at 196 B/row for 1,000-row transactions
of 104-byte rows and 4.4 KB/row for one row per transaction.

    python -m bench.store_bench [--readings N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import io_written, report
from edge_agent.config.store import StoreConfig
from edge_agent.reading import Reading
from edge_agent.store.store import Store


def run(readings: int, batch: int, synchronous: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="store-bench-", dir=".") as tmp:
        store = Store.open(StoreConfig(path=Path(tmp) / "store.db", max_bytes=10**10, synchronous=synchronous))
        now = time.time()
        rows = [Reading(f"meter-{i % 40}", f"point_{i % 12}", 230.0 + i % 7, now + i, "V") for i in range(batch)]
        written_before = io_written()
        began = time.perf_counter()
        for _ in range(readings // batch):
            store.append(rows)
        store.close()
        elapsed = time.perf_counter() - began
        written_after = io_written()
        disk = (written_after - written_before) if written_before is not None and written_after is not None else None
        size = sum(p.stat().st_size for p in Path(tmp).glob("store.db*"))
    done = (readings // batch) * batch
    return {
        "readings/s committed": done / elapsed,
        "bytes written per reading": (disk / done) if disk else float("nan"),
        "database bytes per reading": size / done,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    for synchronous in ("full", "normal"):
        for batch in (1, 20, 500, 2000):
            count = min(args.readings, 5_000) if batch == 1 else args.readings
            report(f"store: {batch} readings per transaction, synchronous={synchronous}",
                   run(count, batch, synchronous), args.out)


if __name__ == "__main__":
    main()
