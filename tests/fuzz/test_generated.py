"""Generated inputs (hypothesis) through the fuzz targets: ChirpStack events in JSON and protobuf, hypervisor
command requests, site config files, control-socket frames. Each target raises on any escaped exception or broken
promise; a failing example is shrunk to the smallest input that breaks it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from chirpstack_api import integration
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.commands.requests import COMMANDS
from edge_agent.control.handlers import HANDLERS
from tests.contract.support import iso
from tests.fuzz import chirpstack, codecs, commands, config, control
from tests.fuzz.gateway import SITE, FuzzGateway
from tests.fuzz.targets import seeds
from tests.lorawan.support import uplink_event

# The running agent of the command and control targets draws from the global random generator in its own threads
# (reconnection jitter) while hypothesis generates; hypothesis takes that for a strategy using ``random``.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")


def fast(examples: int) -> settings:
    """``examples`` inputs, however long each takes; failing examples are shown, not kept in a database."""
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- building blocks ------------------------------------------------------------------------------

# Text as JSON can carry it: any code point, lone surrogates included.
TEXT = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=12)
NUMBERS = st.one_of(
    st.integers(), st.integers(min_value=-(10**30), max_value=10**30), st.floats(),
    st.sampled_from([2**62, 2**63, 2**64 - 1, -(2**63) - 1, 10**400, -(10**400), 1e308, -1e30, 1000.0]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(TEXT, inner, max_size=4)),
                           max_leaves=8)
# Times as ChirpStack and the hypervisor write them, from year 1 to 9999, any offset, and broken ones.
STAMPS = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    st.builds(lambda moment, hours: moment.isoformat() + f"{hours:+03d}:00", st.datetimes(), st.integers(-23, 23)),
    st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:59:59-01:00", "1969-12-31T23:59:59Z", "2026-13-01T00:00:00Z", "", "Z"]),
    TEXT,
)


def dumps(value: Any) -> bytes:
    """JSON as a sender would write it: lone surrogates escaped, NaN and Infinity as Python writes them."""
    return json.dumps(value).encode()


# -- ChirpStack events ----------------------------------------------------------------------------

# What ChirpStack's own decoding may hand over: the fields the fuzzed site keeps, with any values, and others.
OBJECTS = st.fixed_dictionaries({}, optional={
    "temperature": st.one_of(NUMBERS, JSON_VALUES), "leak": JSON_VALUES, "status": st.one_of(NUMBERS, JSON_VALUES),
    "battery": NUMBERS, "sensors": st.one_of(st.lists(st.fixed_dictionaries({"value": SCALARS}), max_size=2),
                                            JSON_VALUES),
    "extra": JSON_VALUES})
DEVICES = len(chirpstack.codecs())  # one per shipped codec; one more is a devEui the site does not have
UPLINK_KEYS = ["deduplicationId", "time", "deviceInfo", "devAddr", "dr", "fCnt", "fPort", "confirmed", "data",
               "object", "rxInfo", "txInfo", "adr", "regionConfigId"]


@st.composite
def json_events(draw: st.DrawFn) -> bytes:
    device = draw(st.integers(0, DEVICES))
    eui = f"{device + 1:016x}"
    event = draw(st.sampled_from(chirpstack.EVENT_TYPES))
    body: dict[str, Any] = uplink_event(eui, draw(st.binary(max_size=24)).hex(), f_cnt=draw(st.integers(0, 2**32)),
                                        f_port=draw(st.integers(0, 255)))
    if draw(st.booleans()):
        body["time"] = draw(STAMPS)
    for key in draw(st.lists(st.sampled_from(UPLINK_KEYS), max_size=2)) if draw(st.booleans()) else []:
        if draw(st.booleans()):
            body.pop(key, None)
        else:
            body[key] = draw(JSON_VALUES)
    if event == "status":
        body["batteryLevel"] = draw(NUMBERS)
    if draw(st.booleans()):
        body["object"] = draw(OBJECTS)
    return chirpstack.header("json", event, device) + dumps(body)


@st.composite
def protobuf_events(draw: st.DrawFn) -> bytes:
    device = draw(st.integers(0, DEVICES))
    eui = f"{device + 1:016x}"
    if draw(st.booleans()):
        status = integration.StatusEvent(margin=draw(st.integers(-(2**31), 2**31 - 1)),
                                         battery_level=draw(st.floats(width=32)),
                                         battery_level_unavailable=draw(st.booleans()))
        status.device_info.dev_eui = draw(st.sampled_from([eui, "", "ffffffffffffffff"]))
        return chirpstack.header("protobuf", "status", device) + status.SerializeToString()
    uplink = json_format.ParseDict(
        uplink_event(eui, draw(st.binary(max_size=24)).hex(), f_cnt=draw(st.integers(0, 2**32 - 1)),
                     f_port=draw(st.integers(0, 255))), integration.UplinkEvent(), ignore_unknown_fields=True)
    uplink.time.seconds = draw(st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(0, 5_000_000_000)))
    uplink.time.nanos = draw(st.integers(-(2**31), 2**31 - 1))
    if draw(st.booleans()):
        uplink.ClearField("deduplication_id")
    raw = uplink.SerializeToString()
    cut = draw(st.integers(0, len(raw)))
    return chirpstack.header("protobuf", "up", device) + (raw if draw(st.booleans()) else raw[:cut])


@fast(700)
@given(data=json_events())
def test_chirpstack_json_events(data: bytes) -> None:
    chirpstack.target(data)


@fast(700)
@given(data=protobuf_events())
def test_chirpstack_protobuf_events(data: bytes) -> None:
    chirpstack.target(data)


@fast(200)
@given(data=st.binary(max_size=300))
def test_chirpstack_bytes(data: bytes) -> None:
    chirpstack.target(data)


# -- hypervisor commands --------------------------------------------------------------------------

ARGS_OF = {"ping": [], "override": ["group", "level", "duration_s"], "clear_override": ["group"],
           "read_device": ["device"], "replay": ["first", "last"], "config_push": ["config"],
           "config_confirm": ["request", "config_sha256"]}
GOOD_ARGS = {"group": st.sampled_from(["rue", "rue", "nope"]), "level": st.integers(-5, 105),
             "duration_s": st.one_of(st.floats(1, 604_800), NUMBERS), "device": st.sampled_from(["sim-0", "nope"]),
             "first": st.one_of(st.integers(1, 50), st.integers(-3, 2**63)), "last": st.integers(-3, 2**63),
             "request": st.sampled_from(["p-1", "x"]), "config_sha256": st.text("0123456789abcdef", min_size=64,
                                                                               max_size=64)}


@st.composite
def toml_texts(draw: st.DrawFn) -> str:
    """The gateway's own config with a few lines changed, added or dropped (see ``config_texts``)."""
    return draw(config_texts(commands.shared().config_text))


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """Mostly well-formed requests of every command, each with a few fields broken, dropped or added."""
    command = draw(st.sampled_from(COMMANDS)) if draw(st.integers(0, 9)) else draw(TEXT)
    body: dict[str, Any] = {"v": 1, "id": draw(st.text("abcXYZ019_.:-", min_size=1, max_size=64)),
                            "command": command, "sent_at": iso(time.time())}
    args = {key: draw(toml_texts() if key == "config" else GOOD_ARGS[key]) for key in ARGS_OF.get(command, [])}
    if args or draw(st.booleans()):
        body["args"] = args
    for _ in range(draw(st.integers(0, 2))):
        where = body if not args or draw(st.booleans()) else args
        key = draw(st.one_of(st.sampled_from(sorted(where)), TEXT)) if where else draw(TEXT)
        action = draw(st.sampled_from(["replace", "drop", "stamp"]))
        if action == "drop":
            where.pop(key, None)
        else:
            where[key] = draw(STAMPS if action == "stamp" else JSON_VALUES)
    return dumps(body)


@fast(700)
@given(data=requests())
def test_command_requests(gateway: FuzzGateway, data: bytes) -> None:
    commands.target(data)


@fast(150)
@given(data=st.one_of(st.binary(max_size=200), st.builds(dumps, JSON_VALUES)))
def test_command_bytes(gateway: FuzzGateway, data: bytes) -> None:
    commands.target(data)


# -- site configs ---------------------------------------------------------------------------------

TOML_VALUES = st.one_of(
    NUMBERS.map(lambda number: json.dumps(number) if isinstance(number, float) else str(number)),
    st.sampled_from(["nan", "inf", "-inf", "true", "1979-05-27T07:32:00Z", "9999-12-31", "0001-01-01T00:00:00",
                     '"Europe"', '"' + "x" * 300 + '"', '"../../../../etc/passwd"', '"""a\nb"""', "'''\n'''",
                     '"9' + "9" * 400 + ' MB"', "{}", "[]", '{ a = 1 }']),
    TEXT.map(json.dumps),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.builds(lambda items: "[" + ", ".join(items) + "]", st.lists(TEXT.map(json.dumps), max_size=3)),
)


def config_texts(base: str) -> st.SearchStrategy[str]:
    lines = base.splitlines()

    @st.composite
    def mutated(draw: st.DrawFn) -> str:
        out = list(lines)
        for _ in range(draw(st.integers(1, 4))):
            index = draw(st.integers(0, len(out)))
            action = draw(st.sampled_from(["value", "value", "insert", "drop"]))
            if action == "value" and index < len(out) and " = " in out[index]:
                key = out[index].split(" = ", 1)[0]
                out[index] = f"{key} = {draw(TOML_VALUES)}"
            elif action == "insert":
                key = draw(st.one_of(st.sampled_from(["timezone", "max_bytes", "port", "credentials_file", "name",
                                                      "idle_timeout", "allow_upstream_change"]), TEXT.map(json.dumps)))
                out.insert(index, f"{key} = {draw(TOML_VALUES)}")
            elif index < len(out):
                del out[index]
        return "\n".join(out)

    return mutated()


@fast(700)
@given(text=config_texts(SITE.format(port=1883, directory="/var/lib/edge-agent")))
def test_config_texts(text: str) -> None:
    config.target(text.encode("utf-8", "surrogatepass"))


@fast(150)
@given(data=st.binary(max_size=300))
def test_config_bytes(data: bytes) -> None:
    config.target(data)


# -- control socket -------------------------------------------------------------------------------

CONTROL_ARGS = {"device": st.sampled_from(["sim-0", "nope"]), "group": st.just("rue"), "level": NUMBERS,
                "for_s": NUMBERS, "point": st.just("p0"), "value": NUMBERS, "address": NUMBERS, "count": NUMBERS,
                "table": TEXT, "unit": NUMBERS, "since": NUMBERS, "until": NUMBERS, "buckets": NUMBERS,
                "limit": NUMBERS, "last": NUMBERS}


CONTROL_OPS = ["status", "devices", "points", "queue", "read", "write", "modbus_read", "radio", "history", "events",
               "lighting", "hold", "resume"]


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        body: dict[str, Any] = {"v": draw(st.one_of(st.just(1), JSON_VALUES)),
                                "op": draw(st.one_of(st.sampled_from(CONTROL_OPS), TEXT))}
        for key in draw(st.lists(st.sampled_from(sorted(CONTROL_ARGS)), max_size=3, unique=True)):
            body[key] = draw(st.one_of(CONTROL_ARGS[key], JSON_VALUES))
        lines.append(draw(st.one_of(st.just(dumps(body)), st.binary(max_size=60),
                                    st.integers(1, 30_000).map(lambda n: b"[" * n))))
    end = draw(st.sampled_from([b"\n", b""]))
    return b"\n".join(line.replace(b"\n", b" ") for line in lines) + end


@fast(300)
@given(data=frames())
def test_control_frames(gateway: FuzzGateway, data: bytes) -> None:
    control.target(data)


def test_the_generators_know_every_command_and_operation() -> None:
    assert set(ARGS_OF) == set(COMMANDS)
    assert set(CONTROL_OPS) == set(HANDLERS)


# -- LoRaWAN codecs -------------------------------------------------------------------------------

VENDOR_EXAMPLES = [path.read_bytes() for path in seeds("codecs")]  # the codecs' vectors, as fuzz inputs


@st.composite
def uplinks(draw: st.DrawFn) -> bytes:
    """A vendor example (its codec and port) with a few bytes changed, cut or added, or any bytes on any port."""
    if draw(st.booleans()):
        return bytes([draw(st.integers(0, len(codecs.names()) - 1)), draw(st.integers(0, 255))]) + draw(
            st.binary(max_size=48))
    data = bytearray(draw(st.sampled_from(VENDOR_EXAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(min(2, len(data)), len(data)))
        action = draw(st.sampled_from(["set", "cut", "add"]))
        if action == "set" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[where:]
        else:
            data[where:where] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@fast(2000)
@given(data=uplinks())
def test_codec_payloads(data: bytes) -> None:
    codecs.target(data)
