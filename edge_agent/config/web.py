"""``[web]``: the installer's page (``edge-agent web``), a separate process from the agent.

By default it listens on 127.0.0.1 only (reached through an SSH tunnel). Listening on the gateway's network is
an opt-in here: with a ``bind`` that is not a loopback address the page refuses to start until a password is set
(its argon2 hash, here or in ``password_file``; never the password itself).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from edge_agent.config.base import Field, Model, field_validator, model_validator

DEFAULT_PASSWORD_FILE = Path("/etc/edge-agent/web-password")
_ARGON2_PREFIX = "$argon2id$"


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


class WebConfig(Model):
    """Where the page listens, its password, TLS, how long a login lasts and when an idle page stops."""

    bind: str = Field("127.0.0.1", description="an IP address; 0.0.0.0 or the gateway's own for the LAN")
    port: int = Field(8080, ge=1, le=65535)
    password_hash: str | None = Field(None, description="an argon2id hash made by 'edge-agent web passwd'")
    password_file: Path = Field(DEFAULT_PASSWORD_FILE, description="the file 'edge-agent web passwd' writes")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    session_minutes: int = Field(30, ge=1, le=24 * 60, description="a login ends this long after it began")
    idle_exit_s: float = Field(600.0, ge=0, description="stop after this long without a request (0: never)")
    hosts: list[str] = Field(default_factory=list,
                             description="host names the page answers to besides IP addresses and localhost")

    @field_validator("bind")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"'{value}' is not an IP address; use 127.0.0.1 (the default), 0.0.0.0 for every"
                             " network of the gateway, or one of its own addresses") from None
        return value

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_ARGON2_PREFIX):
            raise ValueError("is not an argon2id hash (it starts with $argon2id$); never put the password itself"
                             " here: make the hash with 'edge-agent web passwd --print'")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> WebConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both files, or neither")
        return self

    @property
    def lan(self) -> bool:
        return not is_loopback(self.bind)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None
