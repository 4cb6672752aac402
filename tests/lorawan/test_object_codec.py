"""codec = "chirpstack": points from ChirpStack's decoded object through the site config's mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge_agent.lorawan.codec_api import DecodeError, Quality
from edge_agent.lorawan.config import LorawanDeviceConfig, ObjectField
from edge_agent.lorawan.object_codec import decode_object

FIELDS = [
    ObjectField(path="temperature", point="temperature", unit="°C", valid_min=-40, valid_max=85),
    ObjectField(path="sensors.0.level", point="level", unit="mm", scale=10),
    ObjectField(path="battery", point="battery", unit="%", battery=True),
    ObjectField(path="count", point="people"),
    ObjectField(path="door", alarm="door_open", raised_when=["OPEN"]),
    ObjectField(path="leak", alarm="leak"),
    ObjectField(path="status", flags={0: "low_battery", 3: "tamper"}),
    ObjectField(path="label", point="label"),
    ObjectField(path="missing.deep", point="never"),
]


def test_fields_become_points_and_flags() -> None:
    obj = {"temperature": 21.5, "sensors": [{"level": 123.0}], "battery": 87.0, "count": 12.0, "door": "OPEN",
           "leak": False, "status": 9.0, "label": "école"}
    result = decode_object(obj, FIELDS)
    points = {p.name: (p.value, p.unit, p.quality) for p in result.decoded.points}
    assert points == {"temperature": (21.5, "°C", Quality.GOOD), "level": (1230.0, "mm", Quality.GOOD),
                      "battery": (87, "%", Quality.GOOD), "people": (12, None, Quality.GOOD),
                      "label": ("école", None, Quality.GOOD)}
    assert type(points["people"][0]) is int  # ChirpStack's Struct makes every number a float: a count stays a count
    assert result.decoded.alarms == {"door_open": True, "leak": False, "low_battery": True, "tamper": True}
    assert result.decoded.battery_percent == 87.0
    assert result.missing == 1 and result.decoded.notes == ("object field 'missing.deep' is missing",)


def test_missing_null_and_wrong_values_are_counted_or_distrusted_never_fatal() -> None:
    obj = {"temperature": 140.0, "sensors": [], "battery": None, "count": "many", "door": "CLOSED",
           "leak": "maybe", "status": 1.5, "label": 3.0}
    result = decode_object(obj, FIELDS)
    points = {p.name: (p.value, p.quality) for p in result.decoded.points}
    assert points == {"temperature": (140, Quality.UNCERTAIN), "people": ("many", Quality.GOOD),
                      "label": (3, Quality.GOOD)}
    assert result.missing == 3  # sensors.0.level, battery (null), missing.deep
    assert result.decoded.alarms == {"door_open": False}
    assert any("give raised_when" in note for note in result.decoded.notes)
    assert any("not an integer" in note for note in result.decoded.notes)
    scaled = decode_object({"sensors": [{"level": "full"}]}, FIELDS[1:2])
    assert (scaled.decoded.points[0].value, scaled.decoded.points[0].quality) == (None, Quality.BAD)


def test_no_object_is_a_decode_error_with_the_fix() -> None:
    with pytest.raises(DecodeError, match="set one in the device profile"):
        decode_object(None, FIELDS)


def test_the_config_ties_object_fields_to_the_chirpstack_codec() -> None:
    base = {"driver": "lorawan", "name": "air", "dev_eui": "a84041000181c5e1"}
    device = LorawanDeviceConfig.model_validate(
        {**base, "codec": "chirpstack", "object_fields": [{"path": "co2", "point": "co2", "unit": "ppm"}]})
    assert device.object_fields[0].point == "co2"
    for bad, needle in (({"codec": "chirpstack"}, "needs \\[\\[devices.object_fields\\]\\]"),
                        ({"codec": "dragino_ldds75", "object_fields": [{"path": "a", "point": "a"}]},
                         "only for codec = 'chirpstack'"),
                        ({"codec": "chirpstack", "object_fields": [{"path": "a", "point": "a", "alarm": "b"}]},
                         "exactly one of point, alarm or flags"),
                        ({"codec": "nope"}, "shipped codecs and site codecs")):
        with pytest.raises(ValidationError, match=needle):
            LorawanDeviceConfig.model_validate({**base, **bad})
