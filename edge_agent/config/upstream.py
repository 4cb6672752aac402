"""The upstream broker: where the agent sends its data and takes the hypervisor's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from edge_agent.config.base import ByteSize, Field, Model, model_validator


class TlsConfig(Model):
    """TLS to the broker. Server verification is on unless ``verify = false`` is written."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    verify: bool = True

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: give both for mutual TLS, or neither")
        return self


class SyncConfig(Model):
    """How readings leave the outbox."""

    batch_max_records: int = Field(500, ge=1, le=50_000)
    batch_max_bytes: ByteSize = Field(128_000, ge=1024, le=100_000_000)
    max_inflight: int = Field(8, ge=1, le=1000, description="QoS 1 batches awaiting PUBACK at once")
    drain_rate: float = Field(5000.0, gt=0, description="backlog records/s at most while live data flows")
    live_split: int = Field(2000, ge=1, description="backlog size from which live data gets its own lane")
    status_interval: float = Field(60.0, gt=0, le=3600)
    reconnect_min: float = Field(1.0, gt=0)
    reconnect_max: float = Field(120.0, gt=0)
    compression: Literal["none", "deflate"] = Field("none", description="deflate: batches sent zlib-compressed"
                                                    " (RFC 1950, first byte 0x78); the hypervisor must accept it")
    start_jitter: float = Field(0.0, ge=0, le=600, description="wait up to this many seconds (uniformly at random)"
                                " before the first connection, so a fleet powered on together spreads out")
    keepalive: int = Field(60, ge=5, le=3600)


_SUFFIX = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$"


class TopicsConfig(Model):
    """The topic layout: each topic is ``<topic_prefix>/<gateway_id>/<suffix>``, so one ACL line confines a gateway.

    Suffixes may have several levels but no wildcard, no leading or trailing slash, no empty level.
    """

    readings: str = Field("readings", pattern=_SUFFIX)
    events: str = Field("events", pattern=_SUFFIX)
    status: str = Field("status", pattern=_SUFFIX)
    inventory: str = Field("inventory", pattern=_SUFFIX)
    commands: str = Field("commands", pattern=_SUFFIX)
    responses: str = Field("responses", pattern=_SUFFIX)
    replay: str = Field("replay", pattern=_SUFFIX)
    reports: str = Field("reports", pattern=_SUFFIX)

    @model_validator(mode="after")
    def _distinct(self) -> TopicsConfig:
        values = list(self.model_dump().values())
        if len(set(values)) != len(values):
            raise ValueError("every topic needs its own suffix")
        return self


class CommandsConfig(Model):
    """Commands from the hypervisor."""

    enabled: bool = True
    max_age: float = Field(300.0, gt=0, le=86_400, description="requests older than this many seconds are refused")
    remembered_ids: int = Field(1000, ge=10, le=100_000, description="request ids remembered to answer repeats")
    replay_max_records: int = Field(5000, ge=1, le=100_000, description="records one replay request may return")
    queue: int = Field(64, ge=1, le=10_000, description="requests waiting to run; more are answered 'busy'")
    trial_seconds: float = Field(60.0, ge=1, le=3600, description="a pushed config must be healthy within this")
    allow_upstream_change: bool = Field(False, description="a pushed config may change the upstream broker, TLS"
                                        " or credentials (kept only once the hypervisor confirms over the new"
                                        " link); set on site, never by a push")


class NgsiLdConfig(Model):
    """The NGSI-LD output's JSON-LD contexts (docs/contract.md says how a broker gets them without the internet)."""

    contexts_url: str | None = Field(
        None, pattern=r"^https?://[^\s]+$",
        description="where the hypervisor serves the contexts shipped in docs/contexts/ (edge-agent.jsonld and"
                    " sdm/); unset: the published Smart Data Models contexts, and the project's namespace",
    )
    core_context: str = Field("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
                              pattern=r"^https?://[^\s]+$", description="the NGSI-LD core context, listed last")


def parse_endpoint(text: str) -> tuple[str, int]:
    """``host:port`` (``[v6::addr]:port`` too) → (host, port); ValueError in plain words."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"endpoint {text!r} is not HOST:PORT")
    return host, int(port)


class UpstreamConfig(Model):
    """The hypervisor's broker."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    client_id: str | None = None
    topic_prefix: str = Field("fute", pattern=r"^[^#+\s]+$")
    credentials_file: Path | None = None
    tls: TlsConfig | None = None
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    endpoints: list[str] = Field(default_factory=list, description="more brokers (HOST:PORT) to fail over to, in turn")
    session_expiry: int = Field(7 * 86_400, ge=0, le=2**32 - 1,
                                description="MQTT 5: seconds the broker keeps this gateway's session while away")
    sync: SyncConfig = Field(default_factory=SyncConfig)
    topics: TopicsConfig = Field(default_factory=TopicsConfig)
    commands: CommandsConfig = Field(default_factory=CommandsConfig)
    output: Literal["native", "ngsi-ld"] = Field("native", description="readings as native batches or NGSI-LD")
    ngsi_ld: NgsiLdConfig = Field(default_factory=NgsiLdConfig)

    @model_validator(mode="after")
    def _endpoints_valid(self) -> UpstreamConfig:
        for endpoint in self.endpoints:
            parse_endpoint(endpoint)
        return self
