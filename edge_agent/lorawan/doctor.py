"""Checks of ChirpStack's own config that the agent depends on, for ``edge-agent doctor``. Pure but for reading."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from edge_agent.frozen import frozen
from edge_agent.lorawan.config import ChirpstackConfig

DEFAULT_CHIRPSTACK_TOML = Path("/etc/chirpstack/chirpstack.toml")


@frozen
class Finding:
    ok: bool
    check: str
    message: str


def check_chirpstack_text(text: str, ours: ChirpstackConfig) -> list[Finding]:
    """Findings on ChirpStack's config text: MQTT integration enabled, qos=1, encoding as ours."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [Finding(False, "chirpstack_config", f"ChirpStack's config is not valid TOML: {exc}")]
    integration: dict[str, Any] = data.get("integration", {})
    mqtt: dict[str, Any] = integration.get("mqtt", {})
    findings = [_enabled(integration), _qos(mqtt)]
    json_mode = bool(mqtt.get("json", True))
    wanted = ours.encoding == "json"
    findings.append(Finding(
        json_mode == wanted, "chirpstack_encoding",
        f"ChirpStack sends {'JSON' if json_mode else 'protobuf'} and the agent expects {ours.encoding}"
        + ("" if json_mode == wanted else f": set [integration.mqtt] json={'true' if wanted else 'false'}"
           " in chirpstack.toml or chirpstack.encoding in the site config"),
    ))
    return findings


def _enabled(integration: dict[str, Any]) -> Finding:
    enabled = "mqtt" in integration.get("enabled", [])
    return Finding(enabled, "chirpstack_mqtt_integration",
                   "the MQTT integration is enabled" if enabled
                   else "the MQTT integration is not enabled: add \"mqtt\" to [integration] enabled")


def _qos(mqtt: dict[str, Any]) -> Finding:
    qos = mqtt.get("qos", 0)
    if qos >= 1:
        return Finding(True, "chirpstack_qos", f"ChirpStack publishes events with QoS {qos}")
    return Finding(False, "chirpstack_qos",
                   f"ChirpStack publishes events with QoS {qos}: the broker drops them while the agent is away;"
                   " set qos=1 under [integration.mqtt] in chirpstack.toml and restart ChirpStack")


def check_chirpstack(ours: ChirpstackConfig, path: Path = DEFAULT_CHIRPSTACK_TOML) -> list[Finding]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [Finding(False, "chirpstack_config",
                        f"cannot read {path} ({exc.strerror}); on a separate Gateway OS box check qos=1 there by hand")]
    return check_chirpstack_text(text, ours)
