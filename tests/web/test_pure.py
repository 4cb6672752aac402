"""The page's pure parts: sessions and CSRF tokens, the chart, the words, the [web] section of the config."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from starlette.types import Message

from edge_agent.config.load import load_config
from edge_agent.config.web import WebConfig
from edge_agent.web import chart, passwords
from edge_agent.web.app import WebApp
from edge_agent.web.event_text import cause, describe
from edge_agent.web.i18n import Words
from edge_agent.web.page import group_cards
from edge_agent.web.sessions import (
    FAILURES_BEFORE_PAUSE,
    MAX_CLIENTS,
    MAX_SESSIONS,
    PAUSE_S,
    SessionBook,
    csrf_ok,
)
from tests.cli.helpers import LIGHTING, modbus_devices
from tests.support.site import write_site


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_login_replaces_the_session_and_ends_when_its_time_is_up() -> None:
    clock = Clock()
    book = SessionBook(30 * 60, clock)
    visitor = book.start()
    assert not visitor.logged_in and book.get(visitor.id) is visitor
    user = book.log_in(visitor, "192.0.2.7")
    assert user.id != visitor.id and user.csrf != visitor.csrf and user.logged_in
    assert book.get(visitor.id) is None, "the id seen before login is worth nothing after it"
    clock.now += 30 * 60 - 1
    assert book.get(user.id) is user, "the page's polling does not extend it, and it is still valid"
    clock.now += 2
    assert book.get(user.id) is None
    assert book.get(None) is None and book.get("") is None and book.get("made-up") is None


def test_csrf_tokens_are_per_session() -> None:
    book = SessionBook(60, Clock())
    one, two = book.start(), book.start()
    assert csrf_ok(one, one.csrf)
    assert not csrf_ok(one, two.csrf) and not csrf_ok(one, None) and not csrf_ok(one, "") and not csrf_ok(None, "x")


def test_sessions_are_bounded_and_guessing_pauses_logins() -> None:
    clock = Clock()
    book = SessionBook(60, clock)
    first = book.start()
    for _ in range(MAX_SESSIONS):
        book.start()
    assert book.get(first.id) is None, "the oldest session went first"
    for _ in range(FAILURES_BEFORE_PAUSE - 1):
        book.failed("192.0.2.66")
    assert book.paused_for("192.0.2.66") == 0
    book.failed("192.0.2.66")
    assert book.paused_for("192.0.2.66") == PAUSE_S
    clock.now += PAUSE_S
    assert book.paused_for("192.0.2.66") == 0


def test_one_client_guessing_never_locks_out_another() -> None:
    clock = Clock()
    book = SessionBook(60, clock)
    for _ in range(FAILURES_BEFORE_PAUSE):
        book.failed("192.0.2.66")
    assert book.paused_for("192.0.2.66") == PAUSE_S
    assert book.paused_for("192.0.2.7") == 0, "the installer on another address can still log in"
    book.failed("192.0.2.7")
    book.log_in(None, "192.0.2.7")
    for _ in range(FAILURES_BEFORE_PAUSE - 1):
        book.failed("192.0.2.7")
    assert book.paused_for("192.0.2.7") == 0, "a login forgets the client's earlier wrong passwords"


def test_the_guessing_count_is_bounded() -> None:
    clock = Clock()
    book = SessionBook(60, clock)
    for _ in range(FAILURES_BEFORE_PAUSE):
        book.failed("192.0.2.66")
    for number in range(MAX_CLIENTS):
        book.failed(f"10.0.{number // 256}.{number % 256}")
    assert book.paused_for("192.0.2.66") == 0, "the oldest client was forgotten, the book stays bounded"
    assert book.paused_for("10.0.3.255") == 0


def test_passwords_are_hashed_with_argon2id(tmp_path: Path) -> None:
    hashed = passwords.make_hash("a long enough password")
    assert hashed.startswith("$argon2id$") and "a long enough password" not in hashed
    assert passwords.verify(hashed, "a long enough password")
    assert not passwords.verify(hashed, "another password") and not passwords.verify("junk", "x")
    with pytest.raises(passwords.PasswordProblem, match="too short"):
        passwords.make_hash("short")
    file = tmp_path / "web-password"
    web = WebConfig(password_file=file)
    assert passwords.stored_hash(web) is None
    passwords.write_hash(file, hashed)
    assert passwords.stored_hash(web) == hashed and oct(file.stat().st_mode & 0o777) == "0o640"
    file.write_text("hunter2\n")
    with pytest.raises(passwords.PasswordProblem, match="does not hold an argon2 hash"):
        passwords.stored_hash(web)


def test_the_web_section_keeps_the_page_local_unless_told() -> None:
    web = WebConfig()
    assert (web.bind, web.port, web.lan, web.tls) == ("127.0.0.1", 8080, False, False)
    assert WebConfig(bind="0.0.0.0").lan and not WebConfig(bind="::1").lan
    with pytest.raises(ValidationError, match="is not an IP address"):
        WebConfig(bind="gateway.local")
    with pytest.raises(ValidationError, match="never put the password itself"):
        WebConfig(password_hash="hunter2")
    with pytest.raises(ValidationError, match="go together"):
        WebConfig(tls_cert=Path("/etc/edge-agent/web.crt"))


def test_words_numbers_and_times_in_both_languages() -> None:
    fr, en = Words("fr", "Europe/Paris"), Words("en", "Europe/Paris")
    assert (fr("devices"), en("devices")) == ("Appareils", "Devices")
    assert (fr.number(230.41), en.number(230.41), fr.number(True), en.number(None)) == ("230,4", "230.4", "oui", "-")
    assert fr.ago(100.0, 160.0) == "il y a 60\u00a0s" and en.ago(0.0, 7200.0) == "2\u00a0h ago"
    assert fr.ago(0.0, 5400.0) == "il y a 1\u00a0h\u00a030" and fr.ago(100.0, 100.4) == "à l'instant"
    assert fr.size(80_200_000_000) == "80,2\u00a0Go" and en.size(999) == "999\u00a0B"
    assert (fr.count("records", 1), fr.count("records", 3)) == ("1\u00a0donnée", "3\u00a0données")
    assert (fr.colon, en.colon, fr.category("heritage"), en.category("car_park")) == ("\u00a0:", ":", "patrimoine",
                                                                                      "car park")
    assert Words("de", "Europe/Paris").lang == "fr", "French unless English is asked for"


def test_the_chart_draws_a_gap_where_a_device_was_silent() -> None:
    step = 300.0
    since = 1_790_000_000.0
    buckets = [[since + i * step, 230.0 + i, 229.0 + i, 231.0 + i, 5] for i in (0, 1, 2, 10, 11)]
    svg = chart.render(buckets, since=since, until=since + 86_400, step=step, timezone="Europe/Paris", unit="V",
                       title="voltage <of> meter", empty="-", decimal_comma=True)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 2, "a missing stretch breaks the line"
    assert "voltage &lt;of&gt; meter" in svg and "<of>" not in svg
    assert re.search(r">2\d\d<", svg), "y labels in volts"
    empty = chart.render([], since=since, until=since + 86_400, step=step, timezone="Europe/Paris", unit=None,
                         title="t", empty="Pas de valeur")
    assert "Pas de valeur" in empty and "<polyline" not in empty


def test_axis_ticks_are_round_numbers() -> None:
    assert chart.nice_ticks(229.3, 233.8) == [228.0, 230.0, 232.0, 234.0]
    assert chart.nice_ticks(0, 100) == [0.0, 50.0, 100.0]
    assert chart.nice_ticks(3.29, 3.31) == [3.29, 3.3, 3.31]
    assert chart.tick_labels([3.26, 3.28, 3.3, 3.32], decimal_comma=True) == ["3,26", "3,28", "3,30", "3,32"]
    assert chart.tick_labels([0.0, 50.0, 100.0], decimal_comma=False) == ["0", "50", "100"]
    assert chart.tick_labels([0.0, 0.5, 1.0], decimal_comma=False) == ["0.0", "0.5", "1.0"]


def test_events_are_sentences_of_the_pages_language() -> None:
    fr, en = Words("fr", "Europe/Paris"), Words("en", "Europe/Paris")
    kinds = {"bin-full": "threshold", "armoire-panne": "lamp_failure"}
    raised = {"kind": "alarm.raised", "message": "bin-1.fill_level = 100.0: alarm 'bin-full' raised",
              "data": {"rule": "bin-full", "point": "fill_level", "value": 100.0}}
    assert describe(raised, fr, kinds) == "fill_level = 100\u00a0: alarme « bin-full » déclenchée"
    assert describe(raised, en, kinds) == raised["message"], "English is the agent's own sentence"
    lamp = {"kind": "alarm.cleared", "message": "x", "data": {"rule": "armoire-panne", "point": None, "value": 2.1}}
    assert describe(lamp, fr, kinds) == "le courant est revenu"
    held = {"kind": "lighting.override", "message": "group centre: held",
            "data": {"group": "centre", "level": 15, "duration_s": 3600, "source": "technician"}}
    assert describe(held, fr, kinds) == "groupe centre maintenu à 15 % pendant 60\u00a0min (technicien)"
    written = {"kind": "lighting.set_level", "message": "m", "data": {
        "group": "centre", "point": "circuit1_level", "level": 60, "reason": "program all-night", "ok": False,
        "read_back": 0, "error": None}}
    assert describe(written, fr, kinds) == ("groupe centre\u00a0: circuit1_level à 60 % (programme all-night)\u00a0:"
                                            " ÉCHEC (relu 0 %)")
    assert describe({"kind": "agent_started", "message": "m", "data": {"version": "1.2"}}, fr, kinds) == \
        "edge-agent 1.2 démarré"
    assert describe({"kind": "someday_new", "message": "as the agent says"}, fr, kinds) == "as the agent says"
    assert describe({"kind": "agent_started", "message": "no version"}, fr, kinds) == "no version"


def test_a_plans_steps_say_why_in_words() -> None:
    fr, en = Words("fr", "Europe/Paris"), Words("en", "Europe/Paris")
    assert cause("sunset+15-23:00", fr) == "coucher du soleil + 15 min – 23:00"
    assert cause("05:00-sunrise", en) == "05:00 – sunrise"
    assert cause("civil_dusk-30-civil_dawn", fr) == "crépuscule civil − 30 min – aube civile"
    assert (cause("no period", fr), cause("no period", en)) == ("hors des périodes du programme",
                                                               "outside the program's periods")


def test_a_held_group_says_when_its_hold_ends(tmp_path: Path) -> None:
    config = load_config(write_site(tmp_path, broker_port=1, devices=modbus_devices(1), extra=LIGHTING)).config
    fr = Words("fr", "Europe/Paris")
    now = datetime(2026, 11, 10, 21, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    program = {"group": "centre", "category": "road", "level": 60, "source": "program all-night", "override": None,
               "next_change": {"at": "2026-11-11T10:59:00+00:00", "level": 0}}
    held = {**program, "level": 15, "source": "override",
            "override": {"level": 15, "source": "technician", "remaining_s": 3600}}
    [card] = group_cards([program], config, fr, now)
    assert (card["category"], card["why"], card["next"]) == ("voirie", "programme all-night", "11:59 → 0\u00a0%")
    [card] = group_cards([held], config, fr, now)
    assert card["next"] == "22:00\u00a0: fin du maintien, retour à 60 %" and card["held"]
    assert card["why"] == "maintenu par technicien, encore 60\u00a0min"
    [stopped] = group_cards([{**program, "override": held["override"]}], config, fr, now, running=False)
    assert stopped["level_note"] == "prévu par le programme" and not stopped["held"]
    assert stopped["why"].startswith("maintien enregistré à 15 % par technicien, repris au redémarrage")
    before_noon = datetime(2026, 11, 11, 11, 1, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    [card] = group_cards([held], config, fr, before_noon)
    assert card["next"] == "12:01\u00a0: fin du maintien, retour à 60 %", "a hold ending in the next night's plan"


def test_the_page_speaks_the_sites_language_until_the_visitor_switches(tmp_path: Path) -> None:
    site = write_site(tmp_path, broker_port=1)
    site.write_text(site.read_text().replace('commune = "Esternay"', 'commune = "Esternay"\nlanguage = "en"'))
    guard = WebApp(load_config(site)).asgi()

    def page(cookie: str = "") -> str:
        scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"",
                 "headers": [(b"host", b"127.0.0.1"), (b"cookie", cookie.encode())], "scheme": "http",
                 "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 5000), "root_path": ""}
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        asyncio.run(guard(scope, receive, send))
        return b"".join(m.get("body", b"") for m in sent).decode()

    assert '<html lang="en">' in page() and "Devices" in page()
    assert '<html lang="fr">' in page("edge_lang=fr") and "Appareils" in page("edge_lang=fr")
