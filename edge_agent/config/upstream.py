"""The upstream broker: where the agent sends its data and takes the hypervisor's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from edge_agent.config.base import ByteSize, Model


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
    keepalive: int = Field(60, ge=5, le=3600)


class UpstreamConfig(Model):
    """The hypervisor's broker."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    client_id: str | None = None
    topic_prefix: str = Field("fute", pattern=r"^[^#+\s]+$")
    credentials_file: Path | None = None
    tls: TlsConfig | None = None
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    sync: SyncConfig = SyncConfig()
