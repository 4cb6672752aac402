"""The journal's JSON lines (``--log-format json``, what the service writes): a logged exception carries its
type, its message and its traceback, not just ``"exc_info": true``."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import structlog
from edge_agent.logs import setup_logging

setup_logging("json")
log = structlog.get_logger("edge_agent.test")
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
