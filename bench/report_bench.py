"""Reports benchmark: how long the reports take over a month of a commune's data, read from the store alone (the
uplink plays no part: they work the same with it down).

Workload: the month of bench/commune_month.py (three lighting groups behind a shared meter and luminaire
counters, 12 bins, 3 counters, 6 parking spaces: about 100,000 records the reports read) and, unless
``--no-noise``, the cabinet's other points polled every 30 s (2.7 million records the reports must read past), so
the store is the size a month of a commune fills. Each report is timed in this process (read + compute + JSON,
the median of ``--repeat`` runs after one to warm the page cache), then once through the real command line
(interpreter start included), and the daily message of the month's last day as the running agent makes it.

    python -m bench.report_bench [--nights 31] [--no-noise] [--repeat 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import env_summary, report
from bench.commune_month import FIRST_EVENING, Month, write_month
from edge_agent.config.load import load_config
from edge_agent.reports import daily, encode, energy, mobility, period, waste
from edge_agent.reports.inputs import read
from edge_agent.store.history import HistoryReader, count_range
from edge_agent.store.series import open_reader


def _timed(work: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``work`` (CPU time is what the machine's other load does not inflate)."""
    work()  # warm the page cache, as a second look at a report would find it
    walls, cpus = [], []
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def measure(month: Month, nights: int, repeat: int) -> dict[str, Any]:
    config = month.config
    zone = ZoneInfo(config.site.timezone)
    last = FIRST_EVENING + timedelta(days=nights - 1)
    spans, days = period.nights(FIRST_EVENING, last, zone), period.days(FIRST_EVENING, last, zone)
    reader = HistoryReader(month.store)

    def lighting() -> None:
        encode.energy_json(energy.report(config, energy.gather(reader, config, spans), spans))

    def bins() -> None:
        inputs = read(reader, *waste.read_span(days[0].start, days[-1].end), waste.selection())
        encode.waste_json(waste.report(config, inputs, days[0].start, days[-1].end))

    def counts() -> None:
        encode.mobility_json(mobility.report(config, read(reader, *mobility.read_span(days), mobility.selection()),
                                             days))

    def one_day() -> None:
        daily.compose(config, reader, last, days[-1].end + 12.5 * 3600)

    figures: dict[str, Any] = {
        "store records": month.records,
        "store MB": round(month.store.stat().st_size / 1e6, 1),
        "load average before": round(os.getloadavg()[0], 1),
    }
    for name, work in (("energy report", lighting), ("waste report", bins), ("mobility report", counts),
                       ("daily message of one day", one_day)):
        wall, cpu = _timed(work, repeat)
        figures[f"{name}, ms (in process)"] = round(1000 * wall)
        figures[f"{name}, CPU ms (in process)"] = round(1000 * cpu)
    reader.close()
    for kind in ("energy", "waste", "mobility"):
        command = round(1000 * _command(month, kind, last))
        figures[f"edge-agent report {kind} --format json, ms (whole command)"] = command
    return figures


def _command(month: Month, kind: str, last: Any) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "edge_agent", "report", kind, "--from", FIRST_EVENING.isoformat(), "--to",
                    last.isoformat(), "--format", "json", "-c", str(month.site)], check=True,
                   stdout=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nights", type=int, default=31)
    parser.add_argument("--no-noise", action="store_true", help="only the records the reports read")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the month in this folder and keep it; an existing one there is used again")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        month = reuse(folder) or write_month(folder, noise=not args.no_noise, nights=args.nights)
        built = time.perf_counter() - began
        figures = measure(month, args.nights, args.repeat)
    figures["store written in, s"] = round(built, 1)
    report(f"reports over {args.nights} nights of a commune ({env_summary()})", figures, args.out)
    return 0


def reuse(folder: Path) -> Month | None:
    site, store = folder / "site.toml", folder / "store.db"
    if not (site.exists() and store.exists()):
        return None
    conn = open_reader(store)
    try:
        return Month(load_config(site).config, site, store, count_range(conn, 0.0, 2.0**62))
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
