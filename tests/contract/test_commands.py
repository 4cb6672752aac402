"""Every command and every refusal, against the real agent process over mutual TLS and the ACL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.support import Hypervisor, Pki, Schemas, tls_broker, tls_site
from tests.support.agent_proc import AgentProcess
from tests.support.broker import Broker

LIGHTING = """
[lighting]
[[lighting.programs]]
name = "night"
periods = [{ start = "sunset", end = "sunrise", level = 100 }]
[[lighting.calendars]]
name = "cal"
rules = [{ program = "night" }]
[[lighting.groups]]
name = "rue"
calendar = "cal"
members = [{ device = "sim-0", point = "p0" }]
"""


class Gateway:
    def __init__(self, directory: Path, broker: Broker, hypervisor: Hypervisor, agent: AgentProcess) -> None:
        self.directory = directory
        self.broker = broker
        self.hypervisor = hypervisor
        self.agent = agent

    def log_count(self, text: str) -> int:
        return (self.directory / "agent.log").read_text().count(text)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Gateway]:
    """One broker and one agent for the module: each test sends its own requests with their own ids."""
    directory = tmp_path_factory.mktemp("commands")
    broker = tls_broker(directory, pki)
    hypervisor = Hypervisor(broker.port, pki)
    agent = AgentProcess(tls_site(directory, broker, pki, extra=LIGHTING)).start()
    hypervisor.wait_for(lambda ms: any(m.json().get("online") for m in ms if m.topic.endswith("/status")))
    yield Gateway(directory, broker, hypervisor, agent)
    if agent.proc is not None:
        agent.terminate()
    hypervisor.close()
    broker.stop()


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas()


def error_of(answer: dict[str, object]) -> tuple[str, str | None]:
    assert answer["ok"] is False, answer
    error = answer["error"]
    assert isinstance(error, dict)
    return error["code"], error.get("field")


def test_ping(gateway: Gateway, schemas: Schemas) -> None:
    answer = gateway.hypervisor.ask("ping")
    schemas.check("commandResponse", answer)
    assert answer["ok"] is True and answer["command"] == "ping"
    assert answer["result"]["pong"] is True and len(answer["result"]["config_sha256"]) == 64


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"', b"{}",
                                     b'{"v": 1, "id": 42, "command": "ping"}', b'{"id": "' + b"x" * 80 + b'"}',
                                     b"[" * 100_000, b'{"v": 1, "id": "big", "pad": "' + b"x" * 600_000 + b'"}'])
def test_malformed_requests_are_answered_without_an_id(gateway: Gateway, schemas: Schemas, payload: bytes) -> None:
    before = len(gateway.hypervisor.answers(None))
    gateway.hypervisor.publish(f"{gateway.hypervisor.root}/commands", payload)
    answer = gateway.hypervisor.answer(None, nth=before + 1)
    schemas.check("commandResponse", answer)
    assert error_of(answer)[0] == "malformed"


WRONG_TYPES = [
    ("override", {"group": "rue", "level": "50", "duration_s": 60}, "args.level"),
    ("override", {"group": "rue", "level": 50.5, "duration_s": 60}, "args.level"),
    ("override", {"group": "rue", "level": True, "duration_s": 60}, "args.level"),
    ("override", {"group": "rue", "level": 50, "duration_s": "an hour"}, "args.duration_s"),
    ("override", {"group": 7, "level": 50, "duration_s": 60}, "args.group"),
    ("override", {"group": "rue", "level": 50}, "args.duration_s"),
    ("override", {"group": "rue", "level": 50, "duration_s": 60, "colour": "red"}, "args.colour"),
    ("replay", {"first": "1", "last": 5}, "args.first"),
    ("read_device", {}, "args.device"),
    ("ping", {"x": 1}, "args.x"),
]


@pytest.mark.parametrize(("command", "args", "field"), WRONG_TYPES)
def test_wrong_types_and_fields_are_bad_field(gateway: Gateway, command: str, args: dict[str, object],
                                              field: str) -> None:
    assert error_of(gateway.hypervisor.ask(command, args)) == ("bad_field", field)


def test_envelope_problems(gateway: Gateway) -> None:
    hv = gateway.hypervisor
    root = f"{hv.root}/commands"
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    cases = {
        "e1": ({"v": 2, "id": "e1", "command": "ping", "sent_at": now}, ("unsupported_version", "v")),
        "e2": ({"v": 1, "id": "e2", "command": "ping"}, ("bad_field", "sent_at")),
        "e3": ({"v": 1, "id": "e3", "command": "ping", "sent_at": "yesterday"}, ("bad_field", "sent_at")),
        "e4": ({"v": 1, "id": "e4", "command": "ping", "sent_at": now, "args": []}, ("bad_field", "args")),
        "e5": ({"v": 1, "id": "e5", "command": "ping", "sent_at": now, "extra": 1}, ("bad_field", "extra")),
        "e6": ({"v": "1", "id": "e6", "command": "ping", "sent_at": now}, ("bad_field", "v")),
    }
    for body, _ in cases.values():
        hv.publish(root, json.dumps(body))
    for request_id, (_, expected) in cases.items():
        assert error_of(hv.answer(request_id)) == expected, request_id


def test_hostile_requests_each_get_exactly_one_answer(gateway: Gateway, schemas: Schemas) -> None:
    """A lone surrogate in the command or as a key, a sent_at of year 1 or 9999 that leaves the calendar once
    moved to UTC, numbers of hundreds of digits: each once went unanswered (the handler crashed). Each gets one
    precise answer, and nothing is logged as a crash."""
    hv = gateway.hypervisor
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()).encode()
    cases: dict[str, tuple[bytes, tuple[str, str | None]]] = {
        "h-cmd": (b'{"v":1,"id":"h-cmd","command":"\\ud800","sent_at":"%s"}' % now, ("unknown_command", "command")),
        "h-key": (b'{"v":1,"id":"h-key","command":"ping","sent_at":"%s","\\udfff":1}' % now,
                  ("bad_field", "\ufffd")),
        "h-arg": (b'{"v":1,"id":"h-arg","command":"clear_override","sent_at":"%s","args":{"group":"rue",'
                  b'"\\ud800\\ud800":1}}' % now, ("bad_field", "args.\ufffd\ufffd")),
        "h-year1": (b'{"v":1,"id":"h-year1","command":"ping","sent_at":"0001-01-01T00:00:00+01:00"}',
                    ("bad_field", "sent_at")),
        "h-year9999": (b'{"v":1,"id":"h-year9999","command":"ping","sent_at":"9999-12-31T23:59:59-01:00"}',
                       ("bad_field", "sent_at")),
        "h-digits": (b'{"v":1,"id":"h-digits","command":"override","sent_at":"%s","args":{"group":"rue",'
                     b'"level":5,"duration_s":%s}}' % (now, b"9" * 400), ("out_of_range", "args.duration_s")),
        "h-version": (b'{"v":%s,"id":"h-version","command":"ping","sent_at":"%s"}' % (b"7" * 4000, now),
                      ("unsupported_version", "v")),
    }
    for payload, _ in cases.values():
        hv.publish(f"{hv.root}/commands", payload)
    hv.wait_for(lambda ms: all(hv.answers(request_id) for request_id in cases), timeout=20)
    time.sleep(1.0)  # time for a second answer, were there one
    for request_id, (_, expected) in cases.items():
        (answer,) = hv.answers(request_id)
        schemas.check("commandResponse", answer)
        assert error_of(answer) == expected, (request_id, answer)
    assert gateway.log_count("command_handler_crashed") == 0 and gateway.log_count("command_crashed") == 0


def test_bad_pushed_configs_are_config_invalid(gateway: Gateway) -> None:
    """Configs that once made the push fail as 'internal' (and be remembered so): TOML nested 5,000 deep, a
    size of 400 digits, a time zone that is a folder of zones, text with a lone surrogate."""
    hv = gateway.hypervisor
    current = (gateway.directory / "site.toml").read_text()
    pushes = {
        "nested": "a = " + "[" * 5000 + "]" * 5000,
        "digits": current.replace("[store]", '[store]\nmax_bytes = "' + "9" * 400 + ' MB"'),
        "zone": current.replace("longitude = 3.5603", 'longitude = 3.5603\ntimezone = "Europe"'),
        "surrogate": current.replace('commune = "Esternay"', 'commune = "Estern\ud800y"'),
    }
    for name, text in pushes.items():
        answer = hv.ask("config_push", {"config": text}, request_id=f"bad-push-{name}")
        assert error_of(answer) == ("config_invalid", "args.config"), (name, answer)
    assert hv.ask("config_push", {"config": pushes["zone"]}, request_id="bad-push-zone")["error"]["message"] \
        .endswith("expected an IANA name such as Europe/Paris")
    assert (gateway.directory / "site.toml").read_text() == current
    assert gateway.log_count("command_crashed") == 0


@pytest.mark.parametrize(("args", "field"), [
    ({"group": "rue", "level": 101, "duration_s": 60}, "args.level"),
    ({"group": "rue", "level": -1, "duration_s": 60}, "args.level"),
    ({"group": "rue", "level": 50, "duration_s": 0}, "args.duration_s"),
    ({"group": "rue", "level": 50, "duration_s": 10 * 86_400}, "args.duration_s"),
])
def test_out_of_range_levels_and_durations(gateway: Gateway, args: dict[str, object], field: str) -> None:
    assert error_of(gateway.hypervisor.ask("override", args)) == ("out_of_range", field)


def test_unknown_command_device_and_group(gateway: Gateway) -> None:
    hv = gateway.hypervisor
    assert error_of(hv.ask("reboot", {}))[0] == "unknown_command"
    assert error_of(hv.ask("read_device", {"device": "no-such-meter"})) == ("device_unknown", "args.device")
    assert error_of(hv.ask("override", {"group": "nowhere", "level": 5, "duration_s": 60})) \
        == ("group_unknown", "args.group")
    assert error_of(hv.ask("replay", {"first": 10, "last": 5})) == ("out_of_range", "args.last")


def test_stale_and_future_requests_are_expired(gateway: Gateway) -> None:
    hv = gateway.hypervisor
    stale = hv.ask("override", {"group": "rue", "level": 10, "duration_s": 60}, sent_at=time.time() - 301)
    assert error_of(stale) == ("expired", "sent_at")
    assert error_of(hv.ask("ping", sent_at=time.time() + 3600)) == ("expired", "sent_at")
    assert hv.ask("ping", sent_at=time.time() - 200)["ok"] is True  # within max_age (300 s)


def test_override_and_clear(gateway: Gateway, schemas: Schemas) -> None:
    hv = gateway.hypervisor
    answer = hv.ask("override", {"group": "rue", "level": 30, "duration_s": 600})
    schemas.check("commandResponse", answer)
    assert answer["ok"] is True, answer
    assert answer["result"]["override"]["level"] == 30
    assert 590 <= answer["result"]["override"]["remaining_s"] <= 600
    cleared = hv.ask("clear_override", {"group": "rue"})
    assert cleared["ok"] is True and cleared["result"]["override"] is None


def test_read_device_gives_its_latest_values(gateway: Gateway) -> None:
    answer = gateway.hypervisor.ask("read_device", {"device": "sim-1"})
    assert answer["ok"] is True, answer
    result = answer["result"]
    assert result["device"] == "sim-1" and result["source"] == "last_values"
    assert [r["point"] for r in result["readings"]] == ["p0", "p1", "p2"]
    assert all(r["unit"] == "V" and 90 <= r["value"] <= 110 for r in result["readings"])


def test_a_repeated_id_is_answered_with_the_first_answer_and_not_executed_twice(gateway: Gateway) -> None:
    hv = gateway.hypervisor
    overrides = gateway.log_count('"event": "lighting_override"')
    first = hv.ask("override", {"group": "rue", "level": 37, "duration_s": 900}, request_id="once-37")
    assert first["ok"] is True
    hv.send("override", {"group": "rue", "level": 37, "duration_s": 900}, request_id="once-37")
    hv.send("override", {"group": "rue", "level": 99, "duration_s": 60}, request_id="once-37")
    hv.send("override", {"group": "rue", "level": 37}, request_id="once-37", sent_at=time.time() - 3600)
    repeats = [hv.answer("once-37", nth=n) for n in (2, 3, 4)]
    assert repeats == [first, first, first]
    assert gateway.log_count('"event": "lighting_override"') == overrides + 1, "the override ran more than once"
    assert gateway.log_count('"id": "once-37", "command": "override", "event": "command_done"') == 1
    assert hv.ask("clear_override", {"group": "rue"})["ok"]


def test_nothing_said_crashes_the_agent(gateway: Gateway) -> None:
    assert gateway.agent.returncode is None
    assert gateway.hypervisor.ask("ping")["ok"] is True
    assert gateway.log_count("Traceback") == 0


def test_a_repeated_id_after_a_restart_is_still_not_executed_again(gateway: Gateway) -> None:
    """Answers are kept in the store's SQLite file: a restart does not forget them; a request sent while the
    agent was down is answered when it is back (runs last: restarts the agent)."""
    hv = gateway.hypervisor
    first = hv.ask("override", {"group": "rue", "level": 41, "duration_s": 900}, request_id="persist-41")
    overrides = gateway.log_count('"event": "lighting_override"')
    gateway.agent.terminate()
    online = len([m for m in hv.snapshot("/status") if m.json().get("online")])
    hv.send("ping", request_id="sent-while-down")  # queued by the broker for the agent's persistent session
    gateway.agent.start()
    assert hv.answer("sent-while-down", resend_every=60)["ok"] is True
    hv.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/status") and m.json().get("online")]) > online)
    hv.send("override", {"group": "rue", "level": 41, "duration_s": 900}, request_id="persist-41")
    assert hv.answer("persist-41", nth=2) == first
    assert gateway.log_count('"event": "lighting_override"') == overrides, "executed again after the restart"
    assert gateway.log_count('"id": "persist-41", "event": "command_repeated"') == 1
