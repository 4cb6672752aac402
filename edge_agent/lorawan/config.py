"""Site-config models of the LoRaWAN side: each device, and the local ChirpStack it is heard through."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from edge_agent.config.base import Field, Model, Position, ValidationInfo, field_validator, model_validator

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID = re.compile(UUID_PATTERN)


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID in its canonical form (8-4-4-4-12 hex digits, either case) and nothing else:
    ``fullmatch``, since ``$`` alone lets a final newline by."""
    return _UUID.fullmatch(text) is not None


class BinGeometry(Model):
    """Where an ultrasonic sensor sees the bin's bottom and its full mark (millimetres from the sensor)."""

    d_empty_mm: float = Field(gt=0, description="distance from the sensor to the bottom of the empty bin")
    d_full_mm: float = Field(ge=0, description="distance at which the bin counts as full (>= the blind zone)")
    sensor_offset_mm: float = Field(0.0, ge=0, description="subtracted from every measured distance")

    @model_validator(mode="after")
    def _full_above_empty(self) -> BinGeometry:
        if self.d_full_mm >= self.d_empty_mm:
            raise ValueError("d_full_mm must be smaller than d_empty_mm (the full mark is nearer the sensor)")
        return self


CHIRPSTACK_CODEC = "chirpstack"
ObjectValue = bool | int | float | str


class ObjectField(Model):
    """One field of the ``object`` ChirpStack's device-profile codec made: where it is, and what it becomes."""

    path: str = Field(pattern=r"^[^.\s][^\s]*$", description="dotted path in the object, e.g. 'sensors.0.value'")
    point: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_.]{0,62}$", description="point name")
    alarm: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_.]{0,62}$", description="alarm flag name")
    flags: dict[int, str] | None = Field(None, description="bit -> alarm flag name, for an integer field")
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    valid_min: float | None = None
    valid_max: float | None = None
    raised_when: list[ObjectValue] | None = Field(None, description="alarm: values that raise it (default: truthy)")
    battery: bool = Field(False, description="the value is the battery level in percent")

    @model_validator(mode="after")
    def _one_target(self) -> ObjectField:
        targets = [name for name in ("point", "alarm", "flags") if getattr(self, name)]
        if len(targets) != 1:
            raise ValueError(f"field '{self.path}': give exactly one of point, alarm or flags"
                             f" (got {', '.join(targets) or 'none'})")
        if self.scale == 0:
            raise ValueError(f"field '{self.path}': scale cannot be 0")
        if self.battery and self.point is None:
            raise ValueError(f"field '{self.path}': battery = true needs a point")
        for bit, name in (self.flags or {}).items():
            if not 0 <= bit <= 63 or not name:
                raise ValueError(f"field '{self.path}': flags take bit numbers 0-63 and alarm names")
        return self


class LorawanDeviceConfig(Model):
    """A LoRaWAN device heard through ChirpStack."""

    driver: Literal["lorawan"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    dev_eui: str = Field(pattern=r"^[0-9a-fA-F]{16}$")
    codec: str
    application_id: str | None = Field(None, pattern=UUID_PATTERN, description="ChirpStack application, for downlinks")
    uplink_interval: float = Field(3600.0, gt=0, description="seconds between the device's regular uplinks")
    silent_after: float = Field(3.0, ge=1.0, description="silent alarm after this many missed intervals")
    confirmed_downlinks: bool = True
    bin: BinGeometry | None = None
    position: Position | None = Field(None, description="where the device stands (the reports list bins by it)")
    object_fields: list[ObjectField] = Field(
        default_factory=list, description="codec = 'chirpstack': the fields of ChirpStack's decoded object to keep")

    @field_validator("dev_eui")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("codec")
    @classmethod
    def _known_codec(cls, value: str, info: ValidationInfo) -> str:
        from edge_agent.catalog import catalog_for

        if value == CHIRPSTACK_CODEC:
            return value
        catalog = (info.context or {}).get("catalog") or catalog_for()
        names = catalog.names("lorawan")
        if value not in names:
            where = ", ".join(str(p) for p in catalog.site_dirs) or "none"
            import difflib  # a wrong name only: the daemon's config holds known ones

            close = difflib.get_close_matches(value, names, n=1)
            if close:
                raise ValueError(f"no LoRaWAN codec named '{value}'; did you mean '{close[0]}'?")
            raise ValueError(f"no LoRaWAN codec named '{value}'; shipped codecs and site codecs ({where}):"
                             f" {', '.join(names)}, or '{CHIRPSTACK_CODEC}' to use ChirpStack's decoded object")
        return value

    @model_validator(mode="after")
    def _object_fields_with_chirpstack(self) -> LorawanDeviceConfig:
        if self.codec == CHIRPSTACK_CODEC and not self.object_fields:
            raise ValueError("codec = 'chirpstack' needs [[devices.object_fields]]: which fields of ChirpStack's"
                             " decoded object become points or alarms")
        if self.codec != CHIRPSTACK_CODEC and self.object_fields:
            raise ValueError(f"object_fields is only for codec = '{CHIRPSTACK_CODEC}'; codec '{self.codec}' decodes"
                             " the payload itself")
        return self


class ChirpstackConfig(Model):
    """The local ChirpStack v4: its MQTT integration broker, and optionally its gRPC API for downlinks."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    client_id: str = Field("edge-agent-lorawan", min_length=1, max_length=64)
    keepalive: int = Field(30, ge=5, le=600)
    application_ids: list[str] = Field(default_factory=list, description="empty: every application")
    encoding: Literal["json", "protobuf"] = "json"
    grpc_address: str | None = Field(None, description="host:port of ChirpStack's API (8080 by default)")
    api_token_file: Path | None = None
    downlink_expiry: float = Field(900.0, gt=0, description="seconds before an unconfirmed downlink is expired")
    max_payload_bytes: int = Field(65536, ge=1024, description="larger event messages are refused")

    @field_validator("application_ids")
    @classmethod
    def _uuids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not is_uuid(item):
                raise ValueError(f"'{item}' is not a ChirpStack application id (a UUID)")
        return [item.lower() for item in value]

    @model_validator(mode="after")
    def _token_needs_address(self) -> ChirpstackConfig:
        if self.api_token_file is not None and self.grpc_address is None:
            raise ValueError("api_token_file is set but grpc_address is not; give both or neither")
        return self
