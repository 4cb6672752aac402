"""The contract tests' peers: a Mosquitto with TLS, client certificates and an ACL; a hypervisor client; the
AsyncAPI schemas as validators."""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from jsonschema import Draft202012Validator
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from referencing import Registry, Resource

from edge_agent.resources import asyncapi_path
from tests.contract.pki import CertFiles, TestCA
from tests.support.broker import Broker
from tests.support.mqtt import Captured
from tests.support.site import write_site

PREFIX = "fute"
GATEWAY = "gw-test"

# The ACL of docs/mosquitto-acl.md: the hypervisor reads and writes everything under the prefix; a gateway (its
# certificate's CN is its username, use_identity_as_username) writes only its own subtree, reads its commands.
ACL = f"""user hypervisor
topic readwrite {PREFIX}/#

pattern write {PREFIX}/%u/#
pattern read {PREFIX}/%u/commands/#
"""


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: CertFiles
    gateway: CertFiles
    hypervisor: CertFiles
    intruder: CertFiles  # signed by another CA


def make_pki(directory: Path) -> Pki:
    ca = TestCA(directory)
    other = TestCA(directory, name="some other CA")
    return Pki(ca=ca.cert, server=ca.issue("broker", server=True), gateway=ca.issue(GATEWAY),
               hypervisor=ca.issue("hypervisor"), intruder=other.issue("intruder"))


def tls_broker(workdir: Path, pki: Pki) -> Broker:
    acl = workdir / "acl"
    acl.write_text(ACL)
    extra = "\n".join([
        f"cafile {pki.ca}", f"certfile {pki.server.cert}", f"keyfile {pki.server.key}",
        "require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2",
        f"acl_file {acl}",
    ])
    broker = Broker(workdir, extra=extra)
    if os.geteuid() == 0 and "user root" not in _base_conf(broker):
        broker.extra += "\nuser root"  # run as root, mosquitto drops to its own user: it could not read the files
    return broker.start()


def _base_conf(broker: Broker) -> str:
    broker._write_conf()
    return broker.conf.read_text()


def tls_site(directory: Path, broker: Broker, pki: Pki, *, commands: str = "", extra: str = "",
             sync: str = "", devices: str | None = None, upstream: str = "") -> Path:
    """A site config whose upstream is the TLS broker, with mutual TLS and server verification (the default)."""
    tls = (f'[upstream.tls]\nca_file = "{pki.ca}"\ncert_file = "{pki.gateway.cert}"\n'
           f'key_file = "{pki.gateway.key}"\n')
    text = f"{tls}\n[upstream.commands]\ntrial_seconds = 4\n{commands}\n{extra}"
    path = write_site(directory, broker_port=broker.port, sync=sync, extra=text, devices=devices)
    if upstream:
        path.write_text(path.read_text().replace('topic_prefix = "fute"\n', f'topic_prefix = "fute"\n{upstream}\n'))
    return path


def iso(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TlsClient:
    """A paho client with a client certificate; keeps every message of its subscriptions."""

    def __init__(self, port: int, pki: Pki, cert: CertFiles, *, mqtt5: bool = False, subscribe: str | None = None,
                 client_id: str = "") -> None:
        self.messages: list[Captured] = []
        self.refused: list[tuple[int, str]] = []
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._acks: dict[int, Any] = {}
        protocol = MQTTProtocolVersion.MQTTv5 if mqtt5 else MQTTProtocolVersion.MQTTv311
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=protocol)
        self.client.tls_set(ca_certs=str(pki.ca), certfile=str(cert.cert), keyfile=str(cert.key),
                            cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = lambda *args: self._ready.set()
        self.client.on_connect = lambda c, u, f, reason, p: (
            c.subscribe(subscribe, qos=1) if subscribe else self._ready.set())
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise TimeoutError("the TLS client did not get ready")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Captured(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._lock:
            self._acks[mid] = reason

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False, wait: float = 10.0) -> Any:
        """Publish QoS 1; return the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._lock:
                if info.mid in self._acks:
                    return self._acks[info.mid]
            time.sleep(0.01)
        raise TimeoutError("no PUBACK")

    def snapshot(self, part: str = "") -> list[Captured]:
        with self._lock:
            return [m for m in self.messages if part in m.topic]

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                result = predicate(list(self.messages))
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met after {timeout} s ({len(self.messages)} messages)")
            time.sleep(0.05)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Hypervisor(TlsClient):
    """The control tower: sees everything of the gateway, sends commands and waits for their answers."""

    def __init__(self, port: int, pki: Pki, *, client_id: str = "") -> None:
        self._sent: dict[str, bytes] = {}
        super().__init__(port, pki, pki.hypervisor, subscribe=f"{PREFIX}/#", client_id=client_id)
        self.root = f"{PREFIX}/{GATEWAY}"

    def send(self, command: str, args: dict[str, Any] | None = None, *, request_id: str | None = None,
             sent_at: float | None = None, raw: bytes | None = None) -> str:
        request_id = request_id or uuid.uuid4().hex[:12]
        body: dict[str, Any] = {"v": 1, "id": request_id, "command": command, "sent_at": iso(sent_at or time.time())}
        if args is not None:
            body["args"] = args
        payload = raw if raw is not None else json.dumps(body).encode()
        self._sent[request_id] = payload
        self.publish(f"{self.root}/commands", payload)
        return request_id

    def answers(self, request_id: str | None) -> list[dict[str, Any]]:
        """Answers to an id, leaving out 'in_progress' (a repeat sent while a config push is tried)."""
        return [m.json() for m in self.snapshot(f"{self.root}/responses") if m.json().get("id") == request_id
                and (m.json().get("error") or {}).get("code") != "in_progress"]

    def answer(self, request_id: str | None, *, nth: int = 1, timeout: float = 15.0,
               resend_every: float = 6.0) -> dict[str, Any]:
        """Wait for the nth answer; like a real hypervisor, send the same request (same id) again when no
        answer came within ``resend_every`` seconds: a repeat is answered, never executed twice."""
        deadline = time.monotonic() + timeout
        while True:
            wait = min(resend_every, deadline - time.monotonic())
            try:
                self.wait_for(lambda ms: len(self.answers(request_id)) >= nth, max(wait, 0.1))
                return self.answers(request_id)[nth - 1]
            except AssertionError:
                if time.monotonic() >= deadline or request_id not in self._sent:
                    raise
                self.publish(f"{self.root}/commands", self._sent[request_id])

    def ask(self, command: str, args: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        return self.answer(self.send(command, args, **kwargs))


class Schemas:
    """The JSON Schemas of docs/asyncapi.yaml, by message name, resolved as the document references them."""

    def __init__(self) -> None:
        document_path = asyncapi_path()
        document = yaml.safe_load(document_path.read_text())
        resources = []
        for path in sorted((document_path.parent / "schemas").glob("*.json")):
            contents = json.loads(path.read_text())
            resources.append((contents["$id"], Resource.from_contents(contents)))
        registry: Registry[Any] = Registry().with_resources(resources)
        self.validators: dict[str, Draft202012Validator] = {}
        for name, message in document["components"]["messages"].items():
            schema_file = document_path.parent / message["payload"]["$ref"]
            schema = json.loads(schema_file.read_text())
            Draft202012Validator.check_schema(schema)
            self.validators[name] = Draft202012Validator(schema, registry=registry)

    def check(self, name: str, payload: Any) -> None:
        errors = sorted(self.validators[name].iter_errors(payload), key=lambda e: list(e.path))
        assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
