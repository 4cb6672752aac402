"""The page's password: an argon2id hash (argon2-cffi), never the password itself. The one adapter of argon2."""

from __future__ import annotations

import threading
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from edge_agent.config.web import WebConfig
from edge_agent.errors import EdgeAgentError

MIN_LENGTH = 10

_hasher = PasswordHasher()  # RFC 9106's low-memory profile: argon2id, 64 MiB, 3 passes
_one_at_a_time = threading.Lock()  # 64 MiB per check: a Pi does one at a time, which also slows guessing


class PasswordProblem(EdgeAgentError):
    """A password that cannot be set, or a stored hash that cannot be used."""


def make_hash(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise PasswordProblem(f"the password is too short: at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def stored_hash(web: WebConfig) -> str | None:
    """The hash in force: ``password_hash`` of the config, else the password file's; None when none is set."""
    if web.password_hash is not None:
        return web.password_hash
    try:
        text = web.password_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PasswordProblem(f"cannot read {web.password_file}: {exc.strerror}") from exc
    if not text.startswith("$argon2"):
        raise PasswordProblem(f"{web.password_file} does not hold an argon2 hash: set the password again"
                              " with 'edge-agent web passwd'")
    return text


def verify(hashed: str, password: str) -> bool:
    with _one_at_a_time:
        try:
            return _hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def write_hash(path: Path, hashed: str) -> None:
    """Replace the password file atomically, readable by its owner and group only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    with open(temporary, "x", encoding="utf-8") as handle:
        temporary.chmod(0o640)
        handle.write(hashed + "\n")
    temporary.replace(path)
