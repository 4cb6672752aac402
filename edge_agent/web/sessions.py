"""Logins and CSRF tokens, held in the page's memory only. Pure: the clock is injected.

Every visitor gets a session (anonymous at first) that carries a CSRF token for its forms, the login form
included. Logging in replaces the session by a new one (a session id seen before login is worth nothing after
it) that ends ``lifetime`` seconds later, whatever happens. The page forgets every session when it stops.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

ANONYMOUS_LIFETIME_S = 3600.0
MAX_SESSIONS = 256
FAILURES_BEFORE_PAUSE = 5
PAUSE_S = 30.0
MAX_CLIENTS = 1024  # clients whose wrong passwords are counted (the oldest forgotten first)


@dataclass
class Session:
    id: str
    csrf: str
    expires: float
    logged_in: bool = False
    flash: tuple[str, str] | None = None  # what the last action did, and its tone ("ok" or "bad")


class SessionBook:
    """The sessions by id; bounded (the oldest go first); thread-safe (the page answers from a thread pool)."""

    def __init__(self, lifetime_s: float, clock: Callable[[], float]) -> None:
        self._lifetime = lifetime_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._guesses: dict[str, _Guesses] = {}  # by client address: one client's guessing never locks out another

    def get(self, session_id: str | None) -> Session | None:
        """The live session of this id, or None (unknown or expired)."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= self._clock():
                del self._sessions[session_id]
                return None
            return session

    def start(self, *, logged_in: bool = False) -> Session:
        now = self._clock()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32),
                          expires=now + (self._lifetime if logged_in else ANONYMOUS_LIFETIME_S), logged_in=logged_in)
        with self._lock:
            self._forget_expired(now)
            while len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[session.id] = session
        return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def log_in(self, old: Session | None, client: str) -> Session:
        """A new logged-in session in place of ``old``; the client's wrong passwords are forgotten."""
        if old is not None:
            self.end(old.id)
        with self._lock:
            self._guesses.pop(client, None)
        return self.start(logged_in=True)

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]

    # -- guessing ---------------------------------------------------------------------------------

    def paused_for(self, client: str) -> float:
        """Seconds before this client's next login attempt is heard (after too many wrong passwords in a row)."""
        with self._lock:
            guesses = self._guesses.get(client)
            return 0.0 if guesses is None else max(0.0, guesses.paused_until - self._clock())

    def failed(self, client: str) -> None:
        with self._lock:
            guesses = self._guesses.pop(client, None) or _Guesses()
            guesses.failures += 1
            if guesses.failures >= FAILURES_BEFORE_PAUSE:
                guesses.failures = 0
                guesses.paused_until = self._clock() + PAUSE_S
            self._guesses[client] = guesses  # last in the order: the most recently seen client
            while len(self._guesses) > MAX_CLIENTS:
                del self._guesses[next(iter(self._guesses))]


@dataclass
class _Guesses:
    failures: int = 0
    paused_until: float = 0.0


def csrf_ok(session: Session | None, token: str | None) -> bool:
    """Whether a form's token is its session's (compared in constant time)."""
    if session is None or not token:
        return False
    return hmac.compare_digest(session.csrf.encode(), token.encode())
