"""The daily report composed in a process of its own, both sides: ``ReportProcess`` in the daemon starts
``python -m edge_agent.reports.process`` for each report and reads its answer.

The daemon lives for months. Composed in it, a report would leave the reports' code (energy, bins, counts, FIWARE)
and what reading a day of history allocated in its memory until it stops: 0.9 MB at commune load, measured with
``python -m bench --only footprint``. In a child process they go with it, a second or so once a day; a report that
fails, however it fails, cannot take the daemon with it either.

The child reads the config file the daemon runs and checks that it is that very config (its SHA-256: a file edited
since the agent started is not what the agent runs), reads the store through a read-only connection, and writes
the message's ``data`` on stdout as one JSON document (``null``: the day held nothing to report). Its log lines go
to the daemon's stderr, in the daemon's format. It exits 0 with the document, 1 after logging why it could not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

MODULE = "edge_agent.reports.process"
TIMEOUT_S = 600.0  # a day of history on a Pi's card reads in seconds; a child still running then is stuck
USAGE = f"usage: python -m {MODULE} CONFIG SHA256 DAY MADE_AT LOG_FORMAT"


class ReportFailed(Exception):
    """The report's process gave no report; the message says why (the child logged its own error before)."""


class ReportProcess:
    """``await compose(day, made_at)``: the ``data`` of ``day``'s report, or None when that day held nothing."""

    def __init__(self, config_path: Path, sha256: str, log_format: str, timeout: float = TIMEOUT_S) -> None:
        self._config_path = config_path
        self._sha256 = sha256
        self._log_format = log_format
        self._timeout = timeout

    async def __call__(self, day: date, made_at: float) -> dict[str, Any] | None:
        command = [sys.executable, "-m", MODULE, str(self._config_path), self._sha256, day.isoformat(),
                   repr(made_at), self._log_format]
        try:
            child = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.DEVNULL,
                                                         stdout=asyncio.subprocess.PIPE)
        except OSError as exc:  # no memory for a process, or no interpreter where this one was started from
            raise ReportFailed(f"cannot start the report's process ({exc})") from exc
        try:
            out, _ = await asyncio.wait_for(child.communicate(), self._timeout)
        except TimeoutError:
            raise ReportFailed(f"the report's process gave no answer in {self._timeout:.0f} s; stopped") from None
        finally:
            if child.returncode is None:  # timed out, or the agent stops: the child goes too
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                with contextlib.suppress(asyncio.CancelledError):  # a second cancellation: the first goes on
                    await child.wait()
        if child.returncode != 0:
            raise ReportFailed(f"the report's process exited with status {child.returncode} (its error is logged "
                               "before this line)")
        try:
            data = json.loads(out)
        except ValueError as exc:
            raise ReportFailed(f"the report's process wrote no JSON document ({exc})") from None
        if data is not None and not isinstance(data, dict):
            raise ReportFailed(f"the report's process wrote a {type(data).__name__}, not an object")
        return data


def run_child(argv: list[str]) -> int:
    """The child's side: compose one report, write it on stdout; the exit status."""
    if len(argv) != 5:
        print(USAGE, file=sys.stderr)
        return 2
    config_arg, sha256, day_arg, made_at_arg, log_format = argv
    from edge_agent.config import mode

    mode.use_compiled()  # as the daemon: the compiled form of its config, no pydantic
    from edge_agent.logs import get_logger, setup_logging

    setup_logging(log_format)  # before anything logs: stdout carries the document alone
    log = get_logger(MODULE)
    try:
        day, made_at = date.fromisoformat(day_arg), float(made_at_arg)
    except ValueError:
        log.error("daily_report_failed", reason=f"cannot read the day {day_arg!r} or the time {made_at_arg!r}")
        return 1
    try:
        data = _compose(Path(config_arg), sha256, day, made_at)
    except ReportFailed as exc:
        log.error("daily_report_failed", day=day.isoformat(), reason=str(exc))
        return 1
    except Exception:
        log.exception("daily_report_failed", day=day.isoformat())
        return 1
    sys.stdout.write(json.dumps(data))
    sys.stdout.flush()
    return 0


def _compose(config_path: Path, sha256: str, day: date, made_at: float) -> dict[str, Any] | None:
    from edge_agent.config.load import load_config
    from edge_agent.errors import ConfigError
    from edge_agent.reports import daily
    from edge_agent.store.history import HistoryReader

    try:
        loaded = load_config(config_path)
    except ConfigError as exc:
        raise ReportFailed(f"{config_path} no longer holds a valid config: {'; '.join(exc.problems)}") from None
    if loaded.sha256 != sha256:
        raise ReportFailed(f"{config_path} changed since the agent started: check it ('edge-agent config check') "
                           "and restart the agent ('sudo systemctl restart edge-agent') for its reports to use it")
    reader = HistoryReader(loaded.config.store.path)
    try:
        return daily.compose(loaded.config, reader, day, made_at)
    finally:
        reader.close()


if __name__ == "__main__":
    sys.exit(run_child(sys.argv[1:]))
