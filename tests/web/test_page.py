"""The installer's page in a real headless Chromium, against a real running agent with simulated devices."""

from __future__ import annotations

import http.client
import re
import time
from urllib.parse import urlencode, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from edge_agent.control.client import ControlClient
from edge_agent.control.protocol import RequestFailed
from tests.support.agent_proc import wait_until
from tests.web import browser
from tests.web.conftest import SHOTS
from tests.web.site import PASSWORD, WebSite, cabinet_level


def shoot(driver: WebDriver, site: WebSite, name: str) -> None:
    for label, size in (("phone", browser.PHONE), ("desktop", browser.DESKTOP)):
        saved = browser.screenshot(driver, size, site.shots / f"{name}-{label}.png", SHOTS)
        assert saved.stat().st_size > 10_000
    print(f"\nscreenshots of '{name}': {site.shots} (copied to {SHOTS})")


def cards(driver: WebDriver, selector: str, attribute: str) -> dict[str, str]:
    """Each card's text by its attribute, read in one step in the page (see live_text)."""
    found = driver.execute_script(
        "var out = {}, name = arguments[1]; document.querySelectorAll(arguments[0]).forEach(function (card) {"
        " out[card.getAttribute(name) || ''] = card.innerText; }); return out;", selector, attribute)
    return {str(key): as_shown(text) for key, text in dict(found).items()}


def test_the_page_lists_the_gateway_and_every_device(site: WebSite, chromium: WebDriver) -> None:
    chromium.get(site.url + "/")
    assert chromium.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    facts = live_text(chromium, "#gateway")
    assert "Esternay" in facts and "gw-test" in facts and "en marche depuis" in facts
    assert "Horloge\nsynchronisée" in facts
    devices = cards(chromium, "#devices [data-device]", "data-device")
    assert set(devices) == {"meter", "cabinet", "sim-0", "lamp", "bin-mairie"}
    assert "Modbus" in devices["cabinet"] and "en ligne" in devices["cabinet"]
    assert re.search(r"circuit1_level\n60", devices["cabinet"]), devices["cabinet"]
    assert "LoRaWAN" in devices["lamp"] and "222,6 V" in devices["lamp"]
    assert "bin-full: fill_level" in devices["bin-mairie"], "the threshold alarm the agent raised"
    events = live_text(chromium, "#events")
    assert "edge-agent" in events and "démarré" in events, "the agent's events told in French"
    assert "fill_level = 100 : alarme « bin-full » déclenchée" in events  # no-break spaces read as spaces
    shoot(chromium, site, "index")


def request(site: WebSite, method: str, path: str, *, fields: dict[str, str] | None = None,
            session: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """One plain HTTP request to the page (no browser): status, headers, body."""
    url = urlsplit(site.url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if session is not None:
        sent["Cookie"] = f"edge_session={session}"
    try:
        conn.request(method, path, urlencode(fields) if fields is not None else None, sent)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read().decode()
    finally:
        conn.close()


def anonymous_session(site: WebSite) -> tuple[str, str]:
    """A fresh visitor's session cookie and the CSRF token of its login form."""
    status, headers, body = request(site, "GET", "/login")
    assert status == 200
    cookie = re.search(r"edge_session=([^;]+)", headers["set-cookie"])
    token = re.search(r'name="csrf" value="([^"]+)"', body)
    assert cookie and token
    return cookie.group(1), token.group(1)


def log_in(driver: WebDriver, site: WebSite, password: str = PASSWORD) -> None:
    driver.get(site.url + "/login")
    driver.find_element(By.NAME, "password").send_keys(password)
    button = driver.find_element(By.CSS_SELECTOR, "form.login button")
    button.click()
    WebDriverWait(driver, 15).until(staleness_of(button))


def submit(driver: WebDriver, selector: str, within: WebElement | None = None) -> None:
    """Click a form's button and wait for the page it leads to."""
    button = (within or driver).find_element(By.CSS_SELECTOR, selector)
    button.click()
    WebDriverWait(driver, 15).until(staleness_of(button))


def live_text(driver: WebDriver, selector: str) -> str:
    """The text of a section the page's refresh may replace at any moment, read in one step in the page: a
    find_element then .text could hold the element the refresh has just swapped out (stale element)."""
    return as_shown(driver.execute_script("return document.querySelector(arguments[0]).innerText", selector))


def as_shown(inner_text: object) -> str:
    """innerText as WebElement.text gives it: no-break spaces as spaces, no blank lines."""
    lines = str(inner_text).replace("\xa0", " ").splitlines()
    return "\n".join(line.strip() for line in lines if line.strip())


def flash(driver: WebDriver) -> str:
    return str(WebDriverWait(driver, 15).until(lambda d: d.find_element(By.ID, "flash")).text)


def test_a_lorawan_devices_signal_gets_a_verdict_per_gateway(site: WebSite, chromium: WebDriver) -> None:
    chromium.get(site.url + "/")
    radio = {card.get_attribute("data-radio"): card for card in
             chromium.find_elements(By.CSS_SELECTOR, "#radio [data-radio]")}
    assert set(radio) == {"lamp", "bin-mairie"}
    lamp = radio["lamp"].find_element(By.CSS_SELECTOR, "header [data-verdict]")
    assert lamp.get_attribute("data-verdict") == "good" and "bon" in lamp.text
    rows = radio["bin-mairie"].find_elements(By.CSS_SELECTOR, "tr[data-gateway]")
    # SF10 needs an SNR of -15 dB: -14 dB leaves 1 dB of margin, -17 dB is under the floor.
    assert [(r.get_attribute("data-gateway"), r.get_attribute("data-verdict")) for r in rows] == [
        ("0016c001ff10a236", "too_weak"), ("0016c001ff10a235", "too_weak")]
    assert "trop faible (1 dB)" in rows[0].text and "-121" in rows[0].text and "-14" in rows[0].text

    chromium.find_element(By.LINK_TEXT, "bin-mairie").click()
    WebDriverWait(chromium, 10).until(lambda d: d.find_elements(By.ID, "uplinks"))
    uplinks = live_text(chromium, "#uplinks")
    assert "SF10" in uplinks and "fCnt 7" in uplinks and "trop faible" in uplinks
    assert chromium.find_element(By.CSS_SELECTOR, "#device .alarms").text.endswith("bin-full: fill_level")
    shoot(chromium, site, "device-bin")


def test_actions_sit_behind_the_login_wall(site: WebSite, chromium: WebDriver) -> None:
    chromium.delete_all_cookies()
    chromium.get(site.url + "/")
    assert chromium.find_elements(By.CSS_SELECTOR, "[data-action]") == [], "no action offered before logging in"
    assert "Se connecter pour agir" in live_text(chromium, "#lighting")

    cookie, token = anonymous_session(site)
    status, _, body = request(site, "POST", "/act/hold", session=cookie,
                              fields={"csrf": token, "group": "centre", "level": "5", "minutes": "60"})
    assert status == 401 and "Connectez-vous d&#39;abord" in body
    status, _, _ = request(site, "POST", "/act/read", session=cookie, fields={"csrf": token, "device": "meter"})
    assert status == 401

    log_in(chromium, site, "pas-le-bon-mot-de-passe")
    assert "Mot de passe incorrect" in chromium.find_element(By.CSS_SELECTOR, "#login .problem").text
    shoot(chromium, site, "login-refused")
    assert chromium.find_elements(By.CSS_SELECTOR, "[data-action]") == []
    assert cabinet_level(site.sim_port) == 60, "nothing reached the cabinet"


def test_a_hold_then_resume_through_the_page_moves_the_cabinet(site: WebSite, chromium: WebDriver) -> None:
    log_in(chromium, site)
    chromium.get(site.url + "/#lighting")
    card = chromium.find_element(By.CSS_SELECTOR, '#lighting [data-group="centre"]')
    level = card.find_element(By.NAME, "level")
    level.clear()
    level.send_keys("15")
    Select(card.find_element(By.NAME, "minutes")).select_by_value("60")
    submit(chromium, '[data-action="hold"]', card)
    assert flash(chromium) == "Groupe centre maintenu à 15 %."
    wait_until(lambda: cabinet_level(site.sim_port) == 15, what="the simulated cabinet's register at 15 %")
    card = chromium.find_element(By.CSS_SELECTOR, '#lighting [data-group="centre"]')
    assert card.find_element(By.CSS_SELECTOR, "[data-level]").text == "15 %"
    assert "maintenu par technicien" in card.find_element(By.CSS_SELECTOR, "[data-why]").text
    assert "fin du maintien, retour à 60 %" in card.find_element(By.CSS_SELECTOR, "[data-next]").text
    shoot(chromium, site, "index-held")

    submit(chromium, '[data-group="centre"] [data-action="resume"]')  # found afresh: the page refreshes itself
    assert flash(chromium) == "Groupe centre rendu à son programme."
    wait_until(lambda: cabinet_level(site.sim_port) == 60, what="the cabinet back at the program's 60 %")
    assert "programme" in chromium.find_element(By.CSS_SELECTOR, '[data-group="centre"] [data-why]').text


def test_an_action_without_its_csrf_token_is_refused(site: WebSite, chromium: WebDriver) -> None:
    log_in(chromium, site)
    WebDriverWait(chromium, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-action="hold"]'))
    session = chromium.get_cookie("edge_session")
    assert session is not None
    cookie = str(session["value"])
    token = chromium.find_element(By.CSS_SELECTOR, 'form.act input[name="csrf"]').get_attribute("value")
    hold = {"group": "centre", "level": "5", "minutes": "60"}
    assert request(site, "POST", "/act/hold", session=cookie, fields=hold)[0] == 403
    assert request(site, "POST", "/act/hold", session=cookie, fields={**hold, "csrf": "forged"})[0] == 403
    other = anonymous_session(site)[1]
    assert request(site, "POST", "/act/hold", session=cookie, fields={**hold, "csrf": other})[0] == 403
    foreign = request(site, "POST", "/act/hold", session=cookie, fields={**hold, "csrf": str(token)},
                      headers={"Origin": "http://evil.example"})
    assert foreign[0] == 403
    assert cabinet_level(site.sim_port) == 60, "no refused request reached the cabinet"
    status, _, _ = request(site, "POST", "/act/resume", session=cookie, fields={"group": "centre", "csrf": str(token)})
    assert status == 303, "the same session with its token is heard"


def test_read_now_and_a_points_day_on_the_device_page(site: WebSite, chromium: WebDriver) -> None:
    log_in(chromium, site)
    chromium.get(site.url + "/device/meter")
    submit(chromium, '[data-action="read"]')
    assert re.match(r"meter lu : .*voltage = \d", flash(chromium))
    Select(chromium.find_element(By.NAME, "point")).select_by_value("voltage")
    submit(chromium, "form.pick button")
    image = WebDriverWait(chromium, 15).until(lambda d: d.find_element(By.CSS_SELECTOR, "img.chart"))
    assert "point=voltage" in str(image.get_attribute("src"))
    WebDriverWait(chromium, 15).until(lambda d: d.execute_script("return arguments[0].naturalWidth", image) > 0)
    for _ in range(2):  # the chart's address changes once a minute: a refresh across the minute draws it anew
        src, before = image.get_attribute("src"), live_text(chromium, "#updated")
        WebDriverWait(chromium, 20).until(lambda d, seen=before: live_text(d, "#updated") != seen)
        if chromium.execute_script("return document.querySelector('img.chart').src") == src:
            break
        image = chromium.find_element(By.CSS_SELECTOR, "img.chart")
    assert chromium.execute_script("return document.contains(arguments[0])", image), \
        "the page refreshed itself and left the unchanged chart alone (no flicker, no jump)"
    status, headers, svg = request(site, "GET", "/chart.svg?device=meter&point=voltage")
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert svg.count("<polyline") >= 2, "the day's voltage, broken where the store has none"
    shoot(chromium, site, "device-meter")


def test_the_page_speaks_english_on_request(site: WebSite, chromium: WebDriver) -> None:
    chromium.get(site.url + "/")
    chromium.find_element(By.LINK_TEXT, "English").click()
    WebDriverWait(chromium, 10).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    assert chromium.find_element(By.CSS_SELECTOR, "#devices h2").text == "Devices"
    assert "too weak" in live_text(chromium, "#radio")
    lighting = live_text(chromium, "#lighting")
    assert "Why:" in lighting and "road" in lighting
    shoot(chromium, site, "index-english")
    chromium.get(site.url + "/device/lamp")
    assert "Seen" in live_text(chromium, "#device")
    chromium.find_element(By.LINK_TEXT, "Français").click()
    WebDriverWait(chromium, 10).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr")


def test_secure_headers_and_unknown_host_names(site: WebSite) -> None:
    status, headers, _ = request(site, "GET", "/")
    assert status == 200
    assert "script-src 'self'" in headers["content-security-policy"] and "unsafe" not in headers[
        "content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=strict" in headers["set-cookie"]
    rebound = request(site, "GET", "/", headers={"Host": f"rebind.example:{urlsplit(site.url).port}"})
    assert rebound[0] == 421, "a page on 127.0.0.1 must not answer to a foreign name (DNS rebinding)"
    assert request(site, "GET", "/", headers={"Host": "localhost"})[0] == 200
    body = request(site, "GET", "/")[2]
    assert PASSWORD not in body and "argon2" not in body


def test_the_control_requests_the_page_uses(site: WebSite) -> None:
    """radio, history and events: small typed requests to the running agent, refused in plain words."""
    client = ControlClient(site.directory / "control.sock")
    [uplink] = client.call("radio", device="bin-mairie", last=5)["devices"]["bin-mairie"]
    assert (uplink["f_cnt"], uplink["spreading_factor"], uplink["bandwidth"]) == (7, 10, 125000)
    assert uplink["gateways"] == [{"gateway": "0016c001ff10a236", "rssi": -121, "snr": -14.0},
                                  {"gateway": "0016c001ff10a235", "rssi": -133, "snr": -17.0}]
    assert set(client.call("radio")["devices"]) == {"lamp", "bin-mairie"}
    for bad, words in ((dict(device="meter"), "not a LoRaWAN device"), (dict(last=0), "from 1 to 10"),
                       (dict(device="nowhere"), "no device named 'nowhere'")):
        with pytest.raises(RequestFailed, match=words):
            client.call("radio", **bad)
    day = client.call("history", device="meter", point="voltage")
    assert day["until"] - day["since"] == 86_400 and day["step"] == 300
    assert day["buckets"] and all(220 < b[1] < 240 and b[2] <= b[1] <= b[3] and b[4] > 0 for b in day["buckets"])
    with pytest.raises(RequestFailed, match="no device named"):
        client.call("history", device="nowhere", point="voltage")
    with pytest.raises(RequestFailed, match="'since' must come before 'until'"):
        client.call("history", device="meter", point="voltage", since=10, until=5)
    events = client.call("events", limit=5)["events"]
    assert 0 < len(events) <= 5 and all(e["type"] == "event" for e in events)
    assert [e["seq"] for e in events] == sorted((e["seq"] for e in events), reverse=True)
    alarms = client.call("events", device="bin-mairie")["events"]
    assert [e["kind"] for e in alarms] == ["alarm.raised"]
    bin_row = next(d for d in client.call("devices")["devices"] if d["name"] == "bin-mairie")
    assert bin_row["alarms"] == ["bin-full: fill_level"]
    upstream = client.call("status")["upstream"]
    assert upstream["last_ack_at"] is not None and upstream["last_ack_at"] > time.time() - 120


def test_with_the_agent_stopped_the_page_reads_the_store(site: WebSite, chromium: WebDriver) -> None:
    """Last in the module: it stops the agent."""
    site.agent.terminate()
    log_in(chromium, site)
    chromium.get(site.url + "/")
    assert "ARRÊTÉ" in live_text(chromium, "#gateway")
    devices = cards(chromium, "#devices [data-device]", "data-device")
    assert "222,6 V" in devices["lamp"] and "circuit1_level" in devices["cabinet"]
    bin_verdict = chromium.find_element(By.CSS_SELECTOR, '#radio [data-radio="bin-mairie"] header [data-verdict]')
    assert bin_verdict.get_attribute("data-verdict") == "too_weak", "from the radio readings in the store"
    lighting = live_text(chromium, "#lighting")
    assert "centre" in lighting and "prévu par le programme" in lighting
    assert chromium.find_elements(By.CSS_SELECTOR, "[data-action]") == [], "nothing offered the agent cannot do"
    assert "aucune action possible" in chromium.find_element(By.CSS_SELECTOR, "[data-no-action]").text
    shoot(chromium, site, "index-stopped")
    session = chromium.get_cookie("edge_session")
    token = chromium.find_element(By.CSS_SELECTOR, 'form.inline input[name="csrf"]').get_attribute("value")
    assert session is not None and token
    status, _, _ = request(site, "POST", "/act/hold", session=str(session["value"]),
                           fields={"csrf": token, "group": "centre", "level": "5", "minutes": "60", "next": "/"})
    assert status == 303
    chromium.get(site.url + "/")
    assert flash(chromium).startswith("Refusé : l'agent est arrêté, il ne peut pas agir")
