"""The page's pure parts: sessions and CSRF tokens, the chart, the words, the [web] section of the config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge_agent.config.web import WebConfig
from edge_agent.web import chart, passwords
from edge_agent.web.i18n import Words
from edge_agent.web.sessions import FAILURES_BEFORE_PAUSE, MAX_SESSIONS, PAUSE_S, SessionBook, csrf_ok


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
    user = book.log_in(visitor)
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
        book.failed()
    assert book.paused_for() == 0
    book.failed()
    assert book.paused_for() == PAUSE_S
    clock.now += PAUSE_S
    assert book.paused_for() == 0


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
    assert fr.ago(100.0, 160.0) == "il y a 60 s" and en.ago(0.0, 7200.0) == "2 h 00 ago"
    assert fr.size(80_200_000_000) == "80,2 Go" and en.size(999) == "999 B"
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
