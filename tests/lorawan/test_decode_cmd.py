"""``edge-agent decode``: JSON on success, one error line and exit code 1 on a bad payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from edge_agent.cli.main import app
from edge_agent.lorawan.codecs import default_registry
from tests.lorawan.support import encode, event_topic, uplink_event

runner = CliRunner()


def test_decode_prints_json() -> None:
    result = runner.invoke(app, ["decode", "--driver", "dragino_ldds75", "--fport", "2", "--hex", "0d0a07e900000001",
                                 "--d-empty", "3000", "--d-full", "300"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["points"]["distance"] == {"value": 2025, "unit": "mm", "quality": "good"}
    assert out["points"]["fill_level"]["value"] == 36.1
    assert out["model"] == "Dragino LDDS75"


def test_truncated_payload_is_one_line_and_exit_1() -> None:
    result = runner.invoke(app, ["decode", "--driver", "milesight_ws558", "--fport", "85", "--hex", "068301"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot decode with milesight_ws558")


def test_wrong_port_unknown_driver_and_bad_hex() -> None:
    for args, needle in (
        (["--driver", "dingtek_df702", "--fport", "9", "--hex", "80"], "fPort 9"),
        (["--driver", "no_such", "--fport", "1", "--hex", "00"], "no codec named"),
        (["--driver", "dingtek_df702", "--fport", "3", "--hex", "xyz"], "not hex"),
    ):
        result = runner.invoke(app, ["decode", *args])
        assert result.exit_code == 1 and needle in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_help_and_list_show_every_codec_with_its_domain() -> None:
    assert "--list" in runner.invoke(app, ["decode", "--help"]).output
    result = runner.invoke(app, ["decode", "--list"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    for name in default_registry().names():
        codec = default_registry().get(name)
        assert codec.domain in rows[name].split(), rows[name]
    assert "chirpstack" in rows


@pytest.mark.parametrize("name", default_registry().names())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=48), port_pick=st.integers(0, 255))
def test_decode_output_is_always_strict_json(name: str, data: bytes, port_pick: int) -> None:
    """Random payloads on the codec's own ports (and others): strict JSON, or one error line and exit 1."""
    ports = sorted(default_registry().get(name).uplink_fports)
    f_port = ports[port_pick % len(ports)] if port_pick < 200 else port_pick
    result = runner.invoke(app, ["decode", "--driver", name, "--fport", str(f_port), "--hex", data.hex() or "00"])
    if result.exit_code == 0:
        parsed = json.loads(result.stdout, parse_constant=_refuse)
        for point in parsed["points"].values():
            assert (point["value"] is None) == (point["quality"] == "bad")
    else:
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output


def test_non_finite_gps_is_null_in_strict_json() -> None:
    result = runner.invoke(app, ["decode", "--driver", "dingtek_df702", "--fport", "3", "--hex",
                                 "800001011907d0010000c07f0000807f190000000000000081"])
    parsed = json.loads(result.stdout, parse_constant=_refuse)
    assert parsed["points"]["longitude"] == {"value": None, "unit": "°", "quality": "bad"}
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


def _refuse(constant: str) -> None:
    raise AssertionError(f"not strict JSON: {constant}")


def _site(tmp_path: Path, encoding: str = "json") -> Path:
    path = tmp_path / "site.toml"
    path.write_text(f"""
gateway_id = "gw-decode"
[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603
[store]
path = "{tmp_path / 'store.db'}"
[drivers]
paths = ["{tmp_path / 'site-drivers'}"]
[chirpstack]
encoding = "{encoding}"
[[devices]]
driver = "lorawan"
name = "bac-12"
dev_eui = "24e124136b502217"
codec = "milesight_em310_udl"
bin = {{ d_empty_mm = 1500, d_full_mm = 250 }}
[[devices]]
driver = "lorawan"
name = "air-ecole"
dev_eui = "a84041000181c5e1"
codec = "chirpstack"
[[devices.object_fields]]
path = "co2"
point = "co2"
unit = "ppm"
valid_max = 10000
[[devices.object_fields]]
path = "battery"
point = "battery"
unit = "%"
battery = true
[[devices.object_fields]]
path = "alarms.tamper"
alarm = "tamper"
""", encoding="utf-8")
    return path


def test_a_device_of_the_site_config_brings_its_codec_and_bin(tmp_path: Path) -> None:
    config = _site(tmp_path)
    result = runner.invoke(app, ["decode", "--config", str(config), "--device", "bac-12", "--fport", "85",
                                 "--hex", "01756403825e01040000"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["driver"] == "milesight_em310_udl" and out["points"]["fill_level"]["value"] == 92.0
    for args, needle in ((["--device", "nobody", "--fport", "85", "--hex", "00"], "no device named 'nobody'"),
                         (["--device", "air-ecole", "--fport", "85", "--hex", "00"], "decoded by ChirpStack"),
                         (["--device", "bac-12", "--event", str(tmp_path / "absent.json")], "cannot be read")):
        result = runner.invoke(app, ["decode", "--config", str(config), *args])
        assert result.exit_code == 1 and needle in result.output, result.output


def test_a_captured_event_decodes_as_the_agent_would(tmp_path: Path) -> None:
    """mosquitto_sub -v output: the topic, then the JSON event; the ChirpStack object goes through the mapping."""
    config = _site(tmp_path)
    event = uplink_event("a84041000181c5e1", "0102", f_cnt=7, f_port=2)
    event["object"] = {"co2": 612.0, "battery": 93.0, "alarms": {"tamper": True}}
    capture = tmp_path / "up.txt"
    capture.write_text(f"{event_topic('a84041000181c5e1', 'up')} {json.dumps(event)}\n", encoding="utf-8")
    result = runner.invoke(app, ["decode", "--config", str(config), "--device", "air-ecole", "--event", str(capture)])
    assert result.exit_code == 0, result.output
    (message,) = json.loads(result.stdout)["messages"]
    readings = {r["point"]: r["value"] for r in message["readings"]}
    assert readings["co2"] == 612 and readings["battery"] == 93 and readings["alarm.tamper"] is True
    assert readings["lorawan.f_cnt"] == 7
    assert [e["kind"] for e in message["events"]] == ["device_alarm"]
    del event["object"]["co2"]
    capture.write_text(json.dumps(event, indent=2), encoding="utf-8")  # a pretty-printed capture, no topic
    result = runner.invoke(app, ["decode", "--config", str(config), "--device", "air-ecole", "--event", str(capture)])
    (message,) = json.loads(result.stdout)["messages"]
    assert "co2" not in {r["point"] for r in message["readings"]}
    assert message["device_status"]["missing_fields"] == 1


@pytest.mark.parametrize("form", ["raw", "hex"])
def test_a_captured_protobuf_event_decodes_too(tmp_path: Path, form: str) -> None:
    config = _site(tmp_path, encoding="protobuf")
    event = uplink_event("24e124136b502217", "01755c03824408040000", f_cnt=3, f_port=85)
    payload = encode(event, "up", "protobuf")
    capture = tmp_path / "up.bin"
    capture.write_bytes(payload + b"\n" if form == "raw" else payload.hex().encode() + b"\n")
    result = runner.invoke(app, ["decode", "--config", str(config), "--device", "bac-12", "--event", str(capture)])
    assert result.exit_code == 0, result.output
    (message,) = json.loads(result.stdout)["messages"]
    readings = {r["point"]: r["value"] for r in message["readings"]}
    assert readings["distance"] == 2116 and readings["battery"] == 92 and readings["fill_level"] == 0.0


def test_an_undecodable_capture_prints_what_is_kept_and_exits_1(tmp_path: Path) -> None:
    config = _site(tmp_path)
    event = uplink_event("24e124136b502217", "9999", f_cnt=3, f_port=85)
    capture = tmp_path / "up.json"
    capture.write_text(json.dumps(event), encoding="utf-8")
    result = runner.invoke(app, ["decode", "--config", str(config), "--device", "bac-12", "--event", str(capture)])
    assert result.exit_code == 1
    (message,) = json.loads(result.stdout)["messages"]
    assert [e["kind"] for e in message["events"]] == ["uplink_undecodable"]
    assert {r["point"]: r["value"] for r in message["readings"]}["lorawan.payload"] == "9999"


def test_a_history_record_is_kept_as_a_past_readings_event_not_as_current_readings(tmp_path: Path) -> None:
    """Milesight's EM300-ZLD README example: a record of 2022-10-12 with a leak, sent later."""
    config = _site(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + """
[[devices]]
driver = "lorawan"
name = "fuite-cave"
dev_eui = "24e124136b502218"
codec = "milesight_em300_zld"
""", encoding="utf-8")
    event = uplink_event("24e124136b502218", "0175640367ee0005000020ce9e74466310015d01", f_cnt=4, f_port=85)
    capture = tmp_path / "up.json"
    capture.write_text(json.dumps(event), encoding="utf-8")
    result = runner.invoke(app, ["decode", "--config", str(config), "--device", "fuite-cave", "--event", str(capture)])
    assert result.exit_code == 0, result.output
    (message,) = json.loads(result.stdout)["messages"]
    readings = {r["point"]: r["value"] for r in message["readings"] if not r["point"].startswith("lorawan.")}
    assert readings == {"battery": 100, "temperature": 23.8, "alarm.leak": False}
    (past,) = [e for e in message["events"] if e["kind"] == "past_readings"]
    assert past["data"]["device_time"] == "2022-10-12T08:02:38.000Z"
    assert {r["point"]: r["value"] for r in past["data"]["readings"]} == {
        "temperature": 27.2, "humidity": 46.5, "alarm.leak": True}
    assert not [e for e in message["events"] if e["kind"] == "device_alarm"]  # a past leak raises nothing now
