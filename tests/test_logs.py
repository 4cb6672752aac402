"""The log lines (``edge_agent/logs.py``). The journal's JSON lines (``--log-format json``, what the service
writes): a logged exception carries its type, its message and its traceback, not just ``"exc_info": true``. The
console's: one padded line per event, fields sorted, then the traceback."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
from edge_agent.logs import get_logger
from edge_agent.logs import setup_logging

setup_logging("json")
log = get_logger("edge_agent.test")
try:
    {}["missing"]
except KeyError:
    log.exception("lookup_failed", token="s3cret")
log.error("refused", exc_info=ValueError("bad value"))
log.info("plain")
"""


def test_json_log_lines_carry_the_exception_type_message_and_traceback() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    failed, refused, plain = [json.loads(line) for line in result.stderr.splitlines()]
    assert failed["event"] == "lookup_failed" and failed["level"] == "error"
    assert (failed["exc_type"], failed["exc_message"]) == ("KeyError", "'missing'")
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert 'File "<string>", line 8, in <module>' in failed["exception"]
    assert failed["exception"].rstrip().endswith("KeyError: 'missing'")
    assert "exc_info" not in failed and failed["token"] == "***"
    assert (refused["exc_type"], refused["exc_message"], refused["exception"]) == (
        "ValueError", "bad value", "ValueError: bad value")
    assert set(plain) == {"event", "level", "timestamp"}


CONSOLE = """
from edge_agent.logs import get_logger, setup_logging

setup_logging("console", "INFO")
log = get_logger("edge_agent.test")
log.debug("hidden")
log.info("polled", device="meter", note="two words", count=3, password="s3cret")
log.warning("a_name_longer_than_the_thirty_columns_of_the_event")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("failed")
"""


def test_console_lines_pad_the_level_and_the_event_sort_the_fields_and_follow_with_the_traceback() -> None:
    result = subprocess.run([sys.executable, "-c", CONSOLE], capture_output=True, text=True, timeout=60, check=True)
    lines = result.stderr.splitlines()
    stamps = [line.split(" ", 1)[0] for line in lines[:3]]
    assert all(stamp.endswith("Z") and stamp[10] == "T" for stamp in stamps), lines
    assert [line.split(" ", 1)[1] for line in lines[:3]] == [
        "[info     ] polled                         count=3 device=meter note='two words' password=***",
        "[warning  ] a_name_longer_than_the_thirty_columns_of_the_event",
        "[error    ] failed",
    ]
    assert lines[3] == "Traceback (most recent call last):" and lines[-1] == "ZeroDivisionError: division by zero"


def test_captured_events_are_the_fields_with_the_event_and_its_level() -> None:
    from edge_agent.logs import capture_logs, get_logger

    log = get_logger("edge_agent.test").bind(gateway="gw-1")
    with capture_logs() as captured:
        log.info("polled %s", "meter", count=3)
        log.exception("failed")
    assert captured == [{"gateway": "gw-1", "count": 3, "event": "polled meter", "log_level": "info"},
                        {"gateway": "gw-1", "exc_info": True, "event": "failed", "log_level": "error"}]
