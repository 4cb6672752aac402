"""``python -m edge_agent.config.checker``: the pydantic process a process that reads compiled configs asks.

``site PATH`` checks the site config whose bytes come on stdin as ``edge-agent config check`` does, writes its
compiled form beside the store (``edge_agent/config/compiled.py``) and answers it, or the problems;
``document MODULE:CLASS`` validates one document (a driver file's content, tagged JSON on stdin) and answers the
result, or pydantic's errors. The answer is one JSON object on stdout.
"""

from __future__ import annotations

import importlib
import json
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edge_agent.config import compiled
from edge_agent.config.base import ValidationError
from edge_agent.config.load import compile_config
from edge_agent.errors import ConfigError


def site(path: Path, payload: bytes) -> dict[str, Any]:
    try:
        _loaded, body = compile_config(payload, path)
    except ConfigError as exc:
        return {"problems": exc.problems}
    data = tomllib.loads(payload.decode("utf-8"))
    compiled.write(body, data, path)
    return {"ok": body}


def document(name: str, payload: bytes) -> dict[str, Any]:
    module, _, cls = name.partition(":")
    if module not in compiled.MODEL_MODULES:
        raise SystemExit(f"{name} is not a config model")
    model = getattr(importlib.import_module(module), cls)
    data = compiled.decode(json.loads(payload))
    try:
        return {"ok": compiled.encode(model.model_validate(data))}
    except ValidationError as exc:
        return {"errors": compiled.encode([{key: _plain(value) for key, value in error.items()}
                                           for error in exc.errors(include_url=False)])}


def _plain(value: Any) -> Any:
    """An error's field as something ``encode`` takes (its ctx may hold an exception)."""
    try:
        compiled.encode(value)
    except TypeError:
        if isinstance(value, Mapping):
            return {str(k): _plain(v) for k, v in value.items()}
        return str(value)
    return value


def main(argv: list[str]) -> int:
    payload = sys.stdin.buffer.read()
    if len(argv) == 2 and argv[0] == "site":
        answer = site(Path(argv[1]), payload)
    elif len(argv) == 2 and argv[0] == "document":
        answer = document(argv[1], payload)
    else:
        print("usage: python -m edge_agent.config.checker site PATH | document MODULE:CLASS", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(answer, default=repr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
