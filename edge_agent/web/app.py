"""The page's routes (Starlette): read-only views for anyone who reaches it, three actions after logging in.

Views: ``/`` (gateway, devices, LoRaWAN signal, lighting, events), ``/device/NAME`` (one device, its signal over
the last uplinks, a 24-hour chart of any of its points), ``/chart.svg``. Actions (POST, logged in, CSRF token):
``/act/hold``, ``/act/resume``, ``/act/read``. Nothing else writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from edge_agent.config.load import LoadedConfig
from edge_agent.errors import EdgeAgentError
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.web import chart, page, passwords
from edge_agent.web.guard import Guard
from edge_agent.web.i18n import LANGUAGES, Words
from edge_agent.web.sessions import Session, SessionBook, csrf_ok
from edge_agent.web.source import AgentStopped, Snapshot, Source

SESSION_COOKIE = "edge_session"
LANG_COOKIE = "edge_lang"
MAX_FORM_BYTES = 4096
HOLD_SPANS_MIN = (30, 60, 120, 240, 480, 720)
REFRESH_S = 5


class WebApp:
    """One page for one site config."""

    def __init__(self, loaded: LoadedConfig, *, secure: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.source = Source(loaded)
        self.sessions = SessionBook(self.config.web.session_minutes * 60.0, clock)
        self.secure = secure
        self._clock = clock
        self._templates = Environment(loader=PackageLoader("edge_agent.web", "templates"),
                                      autoescape=select_autoescape(default=True, default_for_string=True))
        self._templates.filters["breakable"] = breakable
        self.guard: Guard | None = None

    def asgi(self) -> Guard:
        """The application behind its guard (headers, host names, activity)."""
        routes = [
            Route("/", self.index), Route("/device/{name}", self.device), Route("/chart.svg", self.chart),
            Route("/login", self.login_form, methods=["GET"]), Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]), Route("/lang/{code}", self.language),
            Route("/act/hold", self.hold, methods=["POST"]), Route("/act/resume", self.resume, methods=["POST"]),
            Route("/act/read", self.read, methods=["POST"]),
            Mount("/static", StaticFiles(packages=[("edge_agent.web", "static")]), name="static"),
        ]
        self.guard = Guard(Starlette(routes=routes), self.config.web, secure=self.secure)
        return self.guard

    # -- sessions, words, pages ------------------------------------------------------------------

    def _session(self, request: Request) -> tuple[Session, bool]:
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            return session, False
        return self.sessions.start(), True

    def _words(self, request: Request) -> Words:
        lang = request.cookies.get(LANG_COOKIE, self.config.site.language)
        return Words(lang if lang in LANGUAGES else self.config.site.language, self.config.site.timezone)

    def _page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        session, new = self._session(request)
        flash, session.flash = session.flash, None
        w = self._words(request)
        html = self._templates.get_template(template).render(
            w=w, lang=w.lang, csrf=session.csrf, logged_in=session.logged_in, flash=flash, path=request.url.path,
            here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            commune=self.config.site.commune, refresh=REFRESH_S, **context)
        response = HTMLResponse(html, status_code=status)
        if new:
            self._set_session_cookie(response, session)
        return response

    def _set_session_cookie(self, response: Response, session: Session) -> None:
        response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="strict", secure=self.secure,
                            path="/")

    # -- views ---------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        snap = await run_in_threadpool(self.source.snapshot)
        return self._page(request, "index.html", **self._sections(snap, self._words(request)))

    def _sections(self, snap: Snapshot, w: Words) -> dict[str, Any]:
        now = self._clock()
        status = snap.status
        return {
            "running": snap.running, "problems": snap.problems,
            "gateway": page.gateway_rows(status, self.config, w, now) if status else [],
            "devices": page.device_cards(status, snap.radio, w, now) if status else [],
            "lorawan": [d for d in (page.device_cards(status, snap.radio, w, now) if status else [])
                        if d["signal"] is not None],
            "groups": page.group_cards(snap.groups, self.config, w, now, running=snap.running),
            "events": page.event_rows(snap.events, self.config, w, now), "spans": HOLD_SPANS_MIN,
            "unreachable": snap.unreachable,
            "updated": w.clock(now, seconds=True),
        }

    async def device(self, request: Request) -> Response:
        name = request.path_params["name"]
        names = [d.name for d in self.config.devices]
        if name not in names:
            return self._message(request, 404, "not_found")
        w = self._words(request)
        snap = await run_in_threadpool(self.source.snapshot)
        uplinks: list[dict[str, Any]] | None = None
        if isinstance(self.config.device(name), LorawanDeviceConfig):
            try:
                uplinks = await run_in_threadpool(self.source.radio, name, 10)
            except EdgeAgentError as exc:
                snap.problems.append(str(exc))
                uplinks = []
        now = self._clock()
        row = next((d for d in (snap.status or {}).get("devices", []) if d["name"] == name), None)
        card = page.device_card(row, uplinks, w, now) if row is not None else None
        points = [v["point"] for v in card["values"] if v["numeric"]] if card else []
        chosen = request.query_params.get("point") or (points[0] if points else None)
        history = [{"at": w.moment(u["ts"], now), "f_cnt": u.get("f_cnt"), "summary": page.signal_summary([u], w)}
                   for u in uplinks or []]
        return self._page(request, "device.html", name=name, card=card, running=snap.running,
                          problems=snap.problems, unreachable=snap.unreachable, points=points, chosen=chosen,
                          uplinks=history,
                          updated=w.clock(now, seconds=True), minute=int(now // 60), chart_w=chart.WIDTH,
                          chart_h=chart.HEIGHT)

    async def chart(self, request: Request) -> Response:
        device, point = request.query_params.get("device", ""), request.query_params.get("point", "")
        if device not in [d.name for d in self.config.devices] or not point:
            return Response("no such device or point", status_code=404, media_type="text/plain")
        w = self._words(request)
        try:
            reply = await run_in_threadpool(self.source.history, device, point)
            buckets, empty = reply["buckets"], w("no_data")
        except EdgeAgentError as exc:
            now = self._clock()
            reply, buckets, empty = {"since": now - 86_400, "until": now, "step": 300.0}, [], str(exc)
        svg = chart.render(buckets, since=reply["since"], until=reply["until"], step=reply["step"],
                           timezone=self.config.site.timezone, unit=self._unit(device, point),
                           title=w("chart_of", point=point, device=device), empty=empty, decimal_comma=w.lang == "fr")
        return Response(svg, media_type="image/svg+xml")

    def _unit(self, device: str, point: str) -> str | None:
        from edge_agent.control.inventory import points

        with_unit = {row["point"]: row["unit"] for row in points(self.config, device)}
        return with_unit.get(point)

    async def language(self, request: Request) -> Response:
        code = request.path_params["code"]
        response = RedirectResponse(_local(request.query_params.get("next")), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, samesite="lax", secure=self.secure, max_age=365 * 86_400)
        return response

    def _message(self, request: Request, status: int, key: str, **words: Any) -> HTMLResponse:
        return self._page(request, "message.html", status=status, key=key, words=words)

    # -- logging in ----------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        has_password = await run_in_threadpool(self._has_password)
        return self._page(request, "login.html", has_password=has_password, error=None,
                          next=_local(request.query_params.get("next")))

    def _has_password(self) -> bool:
        try:
            return passwords.stored_hash(self.config.web) is not None
        except passwords.PasswordProblem:
            return False

    async def _posted(self, request: Request) -> tuple[dict[str, str], Session | None]:
        """A form and its session, when the form carries that session's CSRF token (else no session)."""
        form = await _form(request)
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        return form, session if csrf_ok(session, form.get("csrf")) else None

    async def login(self, request: Request) -> Response:
        form, session = await self._posted(request)
        if session is None:
            return self._message(request, 403, "csrf")
        w = self._words(request)
        client = request.client.host if request.client is not None else "-"
        paused = self.sessions.paused_for(client)
        if paused > 0:
            return self._page(request, "login.html", status=429, has_password=True, next=_local(form.get("next")),
                              error=w("too_many", s=round(paused)))
        try:
            hashed = await run_in_threadpool(passwords.stored_hash, self.config.web)
        except passwords.PasswordProblem as exc:
            return self._page(request, "login.html", status=503, has_password=False, next="/", error=str(exc))
        if hashed is None:
            return self._page(request, "login.html", status=403, has_password=False, next="/", error=None)
        if not await run_in_threadpool(passwords.verify, hashed, form.get("password", "")):
            self.sessions.failed(client)
            return self._page(request, "login.html", status=401, has_password=True, next=_local(form.get("next")),
                              error=w("wrong_password"))
        fresh = self.sessions.log_in(session, client)
        response = RedirectResponse(_local(form.get("next")), status_code=303)
        self._set_session_cookie(response, fresh)
        return response

    async def logout(self, request: Request) -> Response:
        _, session = await self._posted(request)
        if session is None:
            return self._message(request, 403, "csrf")
        self.sessions.end(session.id)
        fresh = self.sessions.start()
        fresh.flash = (self._words(request)("logged_out"), "ok")
        response = RedirectResponse("/", status_code=303)
        self._set_session_cookie(response, fresh)
        return response

    # -- actions -------------------------------------------------------------------------------

    async def _action(self, request: Request, act: Callable[[dict[str, str], Words], str]) -> Response:
        """CSRF token first, then the login, then the action; its outcome is shown on the next page."""
        form, session = await self._posted(request)
        if session is None:
            return self._message(request, 403, "csrf")
        if not session.logged_in:
            return self._message(request, 401, "must_login")
        w = self._words(request)
        try:
            session.flash = (await run_in_threadpool(act, form, w), "ok")
        except AgentStopped:
            session.flash = (w("refused", why=w("not_running_act")), "bad")
        except EdgeAgentError as exc:
            session.flash = (w("refused", why=str(exc)), "bad")
        return RedirectResponse(_local(form.get("next")), status_code=303)

    async def hold(self, request: Request) -> Response:
        def act(form: dict[str, str], w: Words) -> str:
            level, minutes = _whole(form, "level"), _whole(form, "minutes")
            group = self.source.act("hold", group=form.get("group", ""), level=level, duration_s=minutes * 60)
            return w("held", group=group["group"]["group"], level=level)

        return await self._action(request, act)

    async def resume(self, request: Request) -> Response:
        def act(form: dict[str, str], w: Words) -> str:
            group = self.source.act("resume", group=form.get("group", ""))
            return w("resumed", group=group["group"]["group"])

        return await self._action(request, act)

    async def read(self, request: Request) -> Response:
        def act(form: dict[str, str], w: Words) -> str:
            reply = self.source.act("read", device=form.get("device", ""))
            values = ", ".join(f"{r['point']} = {w.number(r['value'])}{' ' + r['unit'] if r['unit'] else ''}"
                               for r in reply["readings"] if "." not in r["point"]) or "-"
            return w("read_done" if reply.get("live") else "read_heard", device=reply["device"], values=values)

        return await self._action(request, act)


async def _form(request: Request) -> dict[str, str]:
    """A small url-encoded form (the page's forms are a few fields); anything larger is read as empty."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)
    except ValueError:  # more fields than any form of the page has
        return {}
    return {key: values[0] for key, values in fields.items()}


def breakable(name: str) -> Markup:
    """An identifier that may wrap after each underscore ("import_active_energy"), never inside a word."""
    return Markup("_<wbr>").join(escape(part) for part in str(name).split("_"))


def _whole(form: dict[str, str], key: str) -> int:
    try:
        return int(form.get(key, ""))
    except ValueError:
        raise EdgeAgentError(f"'{key}' is a whole number, not {form.get(key, '')[:20]!r}") from None


def _local(target: str | None) -> str:
    """A path of this page to go back to, never another site's."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
