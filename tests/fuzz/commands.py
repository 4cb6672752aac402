"""Fuzz target: one hypervisor command request, whatever its bytes, through the parser and the dispatcher of a
running agent. The promise: exactly one answer (none only when a pushed config begins its trial: the restarted
agent answers), a valid command response, and no exception logged on the way."""

from __future__ import annotations

import json
import re
from typing import Any

from edge_agent.commands.errors import ErrorCode
from edge_agent.logs import capture_logs
from tests.fuzz.gateway import shared

CODES = {code.value for code in ErrorCode}
TOPLEVEL = {"v", "id", "command", "ts", "ok"}
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # docs/schemas/command-request.json


def target(data: bytes) -> None:
    gateway = shared()
    with capture_logs() as logs:
        answer = gateway.call(gateway.dispatcher.handle(data))
    crashed = [entry for entry in logs if entry.get("exc_info")]
    assert not crashed, f"an exception was logged: {crashed[:2]}"
    if answer is None:
        assert gateway.undo_trial(), "no answer, yet no pushed config on trial"
        return
    check_answer(json.loads(answer), readable_id(data))


def readable_id(data: bytes) -> str | None:
    """The id an answer may carry: the request's, when it is a valid one."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and ID.match(value) else None


def check_answer(body: Any, request_id: str | None) -> None:
    """The shape of docs/schemas/command-response.json, checked without a schema library (a million runs)."""
    assert isinstance(body, dict) and set(body) >= TOPLEVEL, body
    assert body["v"] == 1 and isinstance(body["ok"], bool)
    assert body["id"] is None or body["id"] == request_id, (body["id"], request_id)
    if body["ok"]:
        assert isinstance(body.get("result"), dict) and "error" not in body
    else:
        error = body.get("error")
        assert isinstance(error, dict) and "result" not in body
        assert error.get("code") in CODES and isinstance(error.get("message"), str), error
