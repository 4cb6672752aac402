"""In front of every request: known host names only, same-origin posts only, secure headers, and the clock of
the last request (the page stops by itself when nobody has asked for a while).

Host names: a page on 127.0.0.1 is also reachable from a browser through DNS rebinding (a foreign name that
resolves to 127.0.0.1); it answers only to IP addresses, ``localhost``, the gateway's own host name and the
``web.hosts`` of the site config.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge_agent.config.web import WebConfig

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
       " form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" would make browsers send "Origin: null"
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


def host_name(host_header: str) -> str:
    """The name of a Host header, without its port ('[::1]:8080' -> '::1')."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def known_host(name: str, allowed: set[str]) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return name.lower().rstrip(".") in allowed


class Guard:
    """ASGI middleware around the page."""

    def __init__(self, app: ASGIApp, web: WebConfig, *, secure: bool) -> None:
        self.app = app
        self.secure = secure
        machine = socket.gethostname().lower()
        self.allowed = {"localhost", machine, f"{machine}.local", *(h.lower().rstrip(".") for h in web.hosts)}
        self.last_request = time.monotonic()
        self.in_flight = 0

    def idle_for(self) -> float:
        return 0.0 if self.in_flight else time.monotonic() - self.last_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        self.last_request = time.monotonic()
        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await _plain(send, *refusal, self._headers())
                return

            async def with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *self._headers()]
                await send(message)

            await self.app(scope, receive, with_headers)
        finally:
            self.in_flight -= 1
            self.last_request = time.monotonic()

    def _headers(self) -> list[tuple[bytes, bytes]]:
        return [*HEADERS, HSTS] if self.secure else HEADERS

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not known_host(host_name(host), self.allowed):
            return 421, f"this page does not answer to the host name '{host_name(host)[:100]}'"
        if scope["method"] not in ("GET", "HEAD", "POST"):
            return 405, "method not allowed"
        origin = headers.get("origin")
        if scope["method"] == "POST" and origin is not None and urlsplit(origin).netloc != host:
            return 403, "a form of another site cannot act on this page"
        return None


async def _plain(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})
