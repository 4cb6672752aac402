"""SQLite's page cache of the store's connection: the memory it holds against the CPU it saves.

The commune's store cycle: every second's readings appended (120), the pending ones read and acknowledged as the
uplink does, ``--cycles`` times; once per cache size in ``--sizes`` (KiB, SQLite's negative ``cache_size``), each
in a fresh process (memory freed by a run before would be reused), alternated ``--rounds`` times. The resident
memory added over the run (the page cache fills as the store grows, then stays) and the CPU per reading.

    python -m bench.store_cache [--cycles N] [--sizes 4000,1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edge_agent.config.store import StoreConfig
from edge_agent.reading import Reading
from edge_agent.store.store import Store

PER_CYCLE = 120


def resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(cache_kib: int, cycles: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="store-cache-", dir=".") as tmp:
        store = Store.open(StoreConfig(path=Path(tmp) / "store.db", max_bytes=10**10))
        try:
            store._conn.execute(f"PRAGMA cache_size=-{cache_kib}")  # the one setting compared
            before, now, after = resident_mb(), time.time(), 0
            cpu = time.process_time()
            for cycle in range(cycles):
                store.append([Reading(f"meter-{i % 540}", f"point_{i % 12}", 230.0 + i % 7, now + cycle, "V")
                              for i in range(PER_CYCLE)])
                pending = store.pending(events=False, after=after, limit=500)
                if pending:
                    store.ack([stored.seq for stored in pending])
                    after = pending[-1].seq
            cpu = time.process_time() - cpu
            grown = resident_mb() - before
            size = sum(path.stat().st_size for path in Path(tmp).glob("store.db*"))  # with its WAL
        finally:
            store.close()
    return {"cache KiB": cache_kib, "resident MB added": round(grown, 1),
            "CPU us per reading": round(1e6 * cpu / (cycles * PER_CYCLE), 1), "store MB": round(size / 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_cache", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=3000)
    parser.add_argument("--sizes", default="4000,1000", help="cache sizes in KiB, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", type=int, default=None, help=argparse.SUPPRESS)  # one run, in this process
    args = parser.parse_args(argv)
    if args.only is not None:
        print(json.dumps(run(args.only, args.cycles)))
        return 0
    for _ in range(args.rounds):
        for size in (int(s) for s in args.sizes.split(",")):
            done = subprocess.run([sys.executable, "-m", "bench.store_cache", "--only", str(size), "--cycles",
                                   str(args.cycles)], capture_output=True, text=True, check=True)
            print(done.stdout.strip(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
