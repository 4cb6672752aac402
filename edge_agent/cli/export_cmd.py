"""``edge-agent export``: readings from local history as CSV or JSON lines, read-only from the store."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, TextIO

import typer

from edge_agent.cli import offline
from edge_agent.cli.access import config_option, load_site
from edge_agent.cli.output import fail, output_file
from edge_agent.control.protocol import reply_record_json

CSV_COLUMNS = ["seq", "time", "device", "point", "value", "unit", "quality"]


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def parse_moment(text: str) -> float:
    """Unix seconds, or an ISO date/time (local time unless it carries Z or an offset)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"'{text}' is not a time; write 2026-11-28, 2026-11-28T18:30 or Unix seconds") from None
    return (moment if moment.tzinfo else moment.astimezone()).timestamp()


def iso_utc(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):  # a time no calendar holds (kept from before it was checked)
        return str(ts)


def row(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "time": iso_utc(item["ts"])}


def export(
    *,
    since: str = typer.Option(..., "--from", help="start (included): 2026-11-28, 2026-11-28T18:30, or Unix seconds"),
    until: str = typer.Option(..., "--to", help="end (excluded), same forms as --from"),
    device: str | None = typer.Option(None, "--device", "-d", help="only this device"),
    fmt: Format = typer.Option(Format.csv, "--format", "-f", help="csv or jsonl"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to this file (default: the screen)"),
    events: bool = typer.Option(False, "--events", help="include events (jsonl only)"),
    config: Path = config_option(),
) -> None:
    """Export readings kept in the local store, with a progress bar (on the terminal, not in the data)."""
    loaded = load_site(config)
    start, end = parse_moment(since), parse_moment(until)
    if end <= start:
        fail("--to must be after --from")
    if events and fmt is Format.csv:
        fail("events have no place in CSV; use --format jsonl with --events")
    view = offline.connect(loaded.config.store.path)
    try:
        total = offline.count_range(view, start, end, device, not events)
        records = offline.iter_range(view, start, end, device, not events)
        with output_file(output) as out, typer.progressbar(
            records, length=total, label=f"exporting {total} records", file=_bar_file(output),
        ) as bar:
            written = _write(bar, fmt, out)
    finally:
        view.close()
    if output is not None:
        typer.echo(f"{written} records written to {output}", err=True)


def _bar_file(output: Path | None) -> TextIO:
    """The bar goes to the terminal's stderr; silent when stderr is not a terminal."""
    return sys.stderr if sys.stderr.isatty() or output is not None else io.StringIO()


def _write(records: Any, fmt: Format, out: IO[str]) -> int:
    count = 0
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore") if fmt is Format.csv else None
    if writer is not None:
        writer.writeheader()
    for stored in records:
        item = row(reply_record_json(stored.record, stored.seq))
        if writer is not None:
            writer.writerow(item)
        else:
            out.write(json.dumps(item, default=str, ensure_ascii=False) + "\n")
        count += 1
    return count


def register(app: typer.Typer) -> None:
    app.command("export")(export)
