"""The declarative codec format: fixed layouts and channel streams as data, and clear errors for a bad file."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from edge_agent.errors import ConfigError
from edge_agent.lorawan.codec_api import CodecOptions, DecodeError, EncodeError, Quality
from edge_agent.lorawan.codecs import load_codec

FIXED = """
table_codec: 1
model: Example Level Sensor
domain: water
uplink_fports: [2, 5]
frames:
  - name: measurement
    fports: [2]
    match: {length: 9, prefix: "a1"}
    skip: 1
    fields:
      - {name: battery_voltage, type: u16, bits: "0-13", scale: 0.001, round: 3, unit: V}
      - {alarm: interrupt, type: u16, offset: 0, bits: "15"}
      - {name: level, type: u16, unit: mm, invalid: {0: no echo, 65535: sensor absent}, valid_max: 5000,
         out_of_range: uncertain}
      - {name: temperature, type: i16, byte_order: little, scale: 0.1, unit: "°C"}
      - {name: mode, type: u8, enum: {1: normal, 2: storm}}
      - {alarm: flood, type: u8, raised_when: [3]}
  - name: status
    fports: [5]
    fields:
      - {name: firmware_version, type: version, size: 3, format: "{b0}.{b1}.{b2:02d}"}
      - {name: serial_number, type: hex, size: 4}
      - {name: site_label, type: ascii, size: 6}
      - {name: gauge_factor, type: f32}
      - {name: booted, type: const, value: true}
fill_level: {from: level}
commands:
  set_interval:
    description: seconds, whole minutes
    f_port: 2
    bytes: "01"
    value: {type: u16, min: 60, max: 86400, divide_by: 60}
  reboot: {f_port: 3, bytes: "ff 10 ff"}
"""


def test_a_fixed_layout_with_bits_sentinels_ranges_and_names(tmp_path: Path) -> None:
    codec = load_codec("example", _write(tmp_path, FIXED))
    frame = bytes.fromhex("a1") + bytes.fromhex("8ce4") + (1200).to_bytes(2, "big") + struct.pack("<h", -35) + \
        bytes([2, 3])
    decoded = codec.decode(2, frame, CodecOptions(d_empty_mm=3000, d_full_mm=500))
    assert {p.name: p.value for p in decoded.points} == {"battery_voltage": 3.3, "level": 1200, "temperature": -3.5,
                                                          "mode": "storm", "fill_level": 72.0}
    assert decoded.alarms == {"interrupt": True, "flood": True}
    sentinel = codec.decode(2, bytes.fromhex("a10ce40000000001 00"))
    assert (sentinel.points[1].name, sentinel.points[1].value, sentinel.points[1].quality) == ("level", None,
                                                                                               Quality.BAD)
    assert any("no echo" in note for note in sentinel.notes)
    assert [p.name for p in sentinel.points] == ["battery_voltage", "level", "temperature", "mode"]  # no fill
    far = codec.decode(2, bytes.fromhex("a10ce417700000 0900"))
    assert [(p.name, p.quality) for p in far.points if p.name in ("level", "mode")] == [
        ("level", Quality.UNCERTAIN), ("mode", Quality.UNCERTAIN)]


def test_a_status_frame_of_text_versions_and_floats(tmp_path: Path) -> None:
    codec = load_codec("example", _write(tmp_path, FIXED))
    frame = bytes([1, 4, 7]) + bytes.fromhex("0badcafe") + b"PONT\x00\x00" + struct.pack(">f", float("inf"))
    decoded = codec.decode(5, frame)
    values = {p.name: (p.value, p.quality) for p in decoded.points}
    assert values == {"firmware_version": ("1.4.07", Quality.GOOD), "serial_number": ("0badcafe", Quality.GOOD),
                      "site_label": ("PONT", Quality.GOOD), "gauge_factor": (None, Quality.BAD),
                      "booted": (True, Quality.GOOD)}


def test_frames_are_chosen_by_port_length_and_prefix(tmp_path: Path) -> None:
    codec = load_codec("example", _write(tmp_path, FIXED))
    for port, payload, needle in ((2, "b10ce4000000000100", "does not match"), (2, "a10ce4", "does not match"),
                                  (9, "a1", "fPort 9"), (5, "0104", "too short"), (5, "01" * 18, "trailing")):
        with pytest.raises(DecodeError, match=needle):
            codec.decode(port, bytes.fromhex(payload))


def test_commands_encode_with_their_ranges(tmp_path: Path) -> None:
    codec = load_codec("example", _write(tmp_path, FIXED))
    assert codec.encode("set_interval", 600).data.hex() == "01000a"
    assert (codec.encode("reboot").f_port, codec.encode("reboot").data.hex()) == (3, "ff10ff")
    with pytest.raises(EncodeError, match="multiple of 60"):
        codec.encode("set_interval", 90)
    with pytest.raises(EncodeError, match="from 60 to 86400"):
        codec.encode("set_interval", 30)


def test_a_channel_stream_keeps_values_before_an_unknown_channel(tmp_path: Path) -> None:
    text = """
table_codec: 1
model: Example TLV
uplink_fports: [85]
byte_order: little
frames:
  - name: tlv
    layout: channels
    id_size: 1
    channels:
      - {id: "01", fields: [{name: count, type: u16}]}
      - {id: ["02", "82"], fields: [{name: temperature, type: i16, scale: 0.1, round: 1}]}
      - {id: "09", length: 4, skip: a history record}
"""
    codec = load_codec("tlv", _write(tmp_path, text, "tlv"))
    decoded = codec.decode(85, bytes.fromhex("0105000209ff0901020304010700ee0102"))
    assert {p.name: p.value for p in decoded.points} == {"count": 7, "temperature": -24.7}
    assert decoded.notes == ("count: given more than once in one payload, the last value kept",)
    assert len(decoded.skipped) == 2 and "history record" in decoded.skipped[0]
    assert "unknown channel ee" in decoded.skipped[1]
    with pytest.raises(DecodeError, match="unknown channel ee"):
        codec.decode(85, bytes.fromhex("ee01"))


BLOCK = """
table_block: 1
description: attributes every model of the family sends
byte_order: little
channels:
  - {id: "ff 01", fields: [{name: protocol_version, type: u8}]}
  - {id: "ff 0a", fields: [{name: firmware_version, type: u16}]}
  - {id: ["fe 10", "ff 10"], length: 1, skip: "reply: reboot"}
"""

FAMILY = """
table_codec: 1
model: Example Family Member
uplink_fports: ["80-85"]
byte_order: big
frames:
  - name: channels
    layout: channels
    include: [family_attributes]
    channels:
      - {id: "01 75", fields: [{name: battery, type: u8, unit: "%", battery: true, valid_max: 100, out_of_range: bad}]}
      - {id: "ff 10", fields: [{name: reboot_reason, type: u8, enum: {0: false, 1: true}}]}
      - id: "05 00"
        fields:
          - {alarm: outage, type: u8, raised_when: [1], released_when: [2]}
          - {alarm: flow, type: u8, offset: 0, raised_when: [3], released_when: [4]}
      - id: "05 5b"
        fields:
          - {name: weighting, type: u8, bits: "0-1", enum: {0: Z, 1: A}, describes: true}
          - {name: level, type: u16, scale: 0.1, round: 1, unit: dB}
      - {id: "20 ce", length: 9, length_by: {byte: 4, lengths: {3: 6, 17: 10}}, skip: a history record}
      - {id: "3e 00", length_by: {byte: 0, add: 1}, skip: settings}
      - {id: "20 cf", length_by: {byte: 0, lengths: {1: 2}}, skip: a typed record}
"""


def _family(tmp_path: Path, text: str = FAMILY, block: str = BLOCK) -> Path:
    (tmp_path / "family_attributes.block.yaml").write_text(block, encoding="utf-8")
    return _write(tmp_path, text, "family")


def test_a_frame_includes_a_block_by_name_and_its_own_channels_win(tmp_path: Path) -> None:
    codec = load_codec("family", _family(tmp_path))
    assert codec.uplink_fports == frozenset(range(80, 86))
    decoded = codec.decode(85, bytes.fromhex("ff0102" "ff0a0301" "fe1000" "ff1001" "017564"))
    assert {p.name: p.value for p in decoded.points} == {"protocol_version": 2, "firmware_version": 0x0103,
                                                          "reboot_reason": True, "battery": 100}
    assert len(decoded.skipped) == 1 and "reboot" in decoded.skipped[0]  # fe 10 from the block, ff 10 is ours


def test_a_block_that_is_missing_or_clashes_is_refused_with_its_key(tmp_path: Path) -> None:
    path = _write(tmp_path, FAMILY, "family")
    with pytest.raises(ConfigError) as missing:
        load_codec("family", path)
    assert missing.value.problems[0].startswith(f"{path}: frames.0.include.0: no block 'family_attributes'")
    twice = FAMILY.replace("include: [family_attributes]", "include: [family_attributes, other]")
    (tmp_path / "other.block.yaml").write_text(BLOCK, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"include.1: channel ff 01 is in blocks 'family_attributes' and 'other'"):
        load_codec("family", _family(tmp_path, twice))
    with pytest.raises(ConfigError, match=r"family_attributes.block.yaml: channels.0.fields.0.tipe: unknown key"):
        load_codec("family", _family(tmp_path, block=BLOCK.replace("type: u8}]}", "tipe: u8}]}", 1)))
    with pytest.raises(ConfigError, match="1-byte channel ids, the frame 2"):
        load_codec("family", _family(tmp_path, block=BLOCK.replace("byte_order: little", "byte_order: little\n"
                                                                 "id_size: 1").replace('"ff 01"', '"01"')
                                     .replace('"ff 0a"', '"0a"').replace('["fe 10", "ff 10"]', '"10"')))


def test_a_value_map_released_alarms_and_a_bad_value_out_of_range(tmp_path: Path) -> None:
    codec = load_codec("family", _family(tmp_path))
    decoded = codec.decode(85, bytes.fromhex("050002" "ff1000"))
    assert decoded.alarms == {"outage": False} and decoded.value("reboot_reason") is False
    assert codec.decode(85, bytes.fromhex("050003")).alarms == {"flow": True}
    unknown = codec.decode(85, bytes.fromhex("050009" "ff1007" "017565"))
    assert unknown.alarms == {}
    assert [(p.name, p.value, p.quality) for p in unknown.points] == [
        ("reboot_reason", "unknown_7", Quality.UNCERTAIN), ("battery", None, Quality.BAD)]
    assert unknown.battery_percent is None
    assert any("outage: raw value 9 neither raises nor releases it" in note for note in unknown.notes)


def test_an_unnamed_describing_field_makes_the_values_it_describes_uncertain(tmp_path: Path) -> None:
    codec = load_codec("family", _family(tmp_path))
    known = codec.decode(85, bytes.fromhex("055b01023f"))
    assert [(p.name, p.value, p.quality) for p in known.points] == [("weighting", "A", Quality.GOOD),
                                                                    ("level", 57.5, Quality.GOOD)]
    unknown = codec.decode(85, bytes.fromhex("055b03023f"))
    assert [(p.name, p.value, p.quality) for p in unknown.points] == [("level", 57.5, Quality.UNCERTAIN)]
    assert len(unknown.notes) == 1 and "weighting 3" in unknown.notes[0]


def test_a_skipped_channel_sized_by_its_type_or_length_byte(tmp_path: Path) -> None:
    codec = load_codec("family", _family(tmp_path))
    frame = "20ce0000000003aa" + "20ce0000000011aabbccddee" + "20ce0000000005aabbccdd" + "3e00020102" + "017550"
    decoded = codec.decode(85, bytes.fromhex(frame))
    assert len(decoded.skipped) == 4 and decoded.value("battery") == 80  # the third record takes the default 9
    typed = codec.decode(85, bytes.fromhex("017550" "20cf0101" "20cf0901"))
    assert typed.value("battery") == 80 and len(typed.skipped) == 2
    assert "unknown record type 20 cf" in typed.skipped[1]  # type 9 has no length: the rest is skipped and said
    with pytest.raises(DecodeError, match="too short"):
        codec.decode(85, bytes.fromhex("3e0005aabb"))


@pytest.mark.parametrize(("change", "key", "fix"), [
    (("type: u16, bits", "type: u17, bits"), "frames.0.fields.0.type", "expected"),
    (("{name: mode, type: u8", "{type: u8"), "frames.0.fields", "give a field either 'name'"),
    (("bits: \"0-13\"", "bits: \"0-23\""), "frames.0.fields.0", "do not fit a u16"),
    (("domain: water", "domain: plumbing"), "domain", "expected one of: lighting"),
    (("prefix: \"a1\"", "prefix: \"a\""), "frames.0.match.prefix", "pairs of hex digits"),
    (("model: Example Level Sensor", "modele: x"), "modele", "unknown key"),
    (("uplink_fports: [2, 5]", "uplink_fports: [2]"), "(top level)", "frame 'status' is on fPort [5]"),
    (("format: \"{b0}.{b1}.{b2:02d}\"", "format: \"{b0}.{b9}\""), "frames.1.fields.0", "is not b0..b2"),
    (("raised_when: [3]}", "released_when: [3]}"), "frames.0.fields.5", "goes with 'raised_when'"),
    (("enum: {1: normal, 2: storm}", "describes: true"), "frames.0.fields.4", "names its values in 'enum'"),
    (("uplink_fports: [2, 5]", "uplink_fports: [2, \"5-x\"]"), "uplink_fports", "such as '1-223'"),
    (("out_of_range: uncertain", "out_of_range: worse"), "frames.0.fields.2.out_of_range", "expected one of"),
])
def test_a_bad_file_names_the_file_the_key_and_the_fix(tmp_path: Path, change: tuple[str, str], key: str,
                                                       fix: str) -> None:
    assert change[0] in FIXED
    path = _write(tmp_path, FIXED.replace(change[0], change[1]))
    with pytest.raises(ConfigError) as caught:
        load_codec("example", path)
    line = next((p for p in caught.value.problems if fix in p), None)
    assert line is not None, caught.value.problems
    assert line.startswith(f"{path}: {key}"), line


def test_bad_yaml_is_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "table_codec: 1\nmodel: [unclosed\n")
    with pytest.raises(ConfigError, match=r"\(yaml\).*fix the YAML syntax"):
        load_codec("example", path)


def _write(tmp_path: Path, text: str, name: str = "example") -> Path:
    path = tmp_path / f"{name}.codec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_examples_of_the_format_description_load_and_decode(tmp_path: Path) -> None:
    """drivers/lorawan/README.md shows the format by example: its codec and its block are valid files."""
    readme = Path(__file__).resolve().parents[2] / "drivers" / "lorawan" / "README.md"
    codec_text, block_text = re.findall(r"```yaml\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)[:2]
    (tmp_path / "milesight_attributes.block.yaml").write_text(block_text, encoding="utf-8")
    codec = load_codec("example", _write(tmp_path, codec_text))
    assert codec.uplink_fports == frozenset({2, 5, 10, 11, 12})
    decoded = codec.decode(11, bytes.fromhex("050001" "ff0a0114" "3e00020102"))
    assert {p.name: p.value for p in decoded.points} == {"input": True, "firmware_version": "v1.14"}
    assert len(decoded.skipped) == 1


HISTORY = """
table_codec: 1
model: Example Leak Sensor
domain: water
byte_order: little
uplink_fports: [85]
frames:
  - name: channels
    layout: channels
    channels:
      - id: "03 67"
        fields: [{name: temperature, type: i16, scale: 0.1, round: 1, unit: "°C"}]
      - id: "05 00"
        fields: [{alarm: leak, type: u8, raised_when: [1]}]
      - id: "20 ce"
        history: true
        fields:
          - {name: time, type: u32}
          - {name: temperature, type: i16, scale: 0.1, round: 1, unit: "°C"}
          - {name: mode, type: u8, enum: {1: level, 2: counter}}
          - {name: level, type: u8, as_bool: true, when: {mode: [1]}}
          - {name: count, type: u16, when: {mode: [2]}}
          - {alarm: leak, type: u8}
"""


def test_a_history_record_gives_past_readings_dated_by_the_device_never_current_points(tmp_path: Path) -> None:
    codec = load_codec("leak", _write(tmp_path, HISTORY, "leak"))
    now = "0367" + struct.pack("<h", 215).hex() + "050000"
    record = "20ce" + struct.pack("<I", 1665561758).hex() + struct.pack("<h", -12).hex() + "02" + "00" + "0700" + "01"
    decoded = codec.decode(85, bytes.fromhex(now + record))
    assert [(p.name, p.value) for p in decoded.points] == [("temperature", 21.5)]
    assert decoded.alarms == {"leak": False}  # the leak of the past record raises nothing now
    (past,) = decoded.history
    assert past.ts == 1665561758
    assert [(p.name, p.value, p.unit) for p in past.points] == [
        ("temperature", -1.2, "°C"), ("mode", "counter", None), ("count", 7, None), ("alarm.leak", True, None)]
    level = codec.decode(85, bytes.fromhex(record.replace("ff02000700", "ff01010700")))
    assert [(p.name, p.value) for p in level.history[0].points][1:3] == [("mode", "level"), ("level", True)]
    assert codec.decode(85, bytes.fromhex(record)).as_dict()["history"][0]["time"] == 1665561758
    assert "history" not in codec.decode(85, bytes.fromhex(now)).as_dict()


@pytest.mark.parametrize(("change", "fix"), [
    ("- {name: time, type: u32}", "a history record has a field 'time'"),
    ("when: {mode: [2]}", "'when' names 'moed'"),
])
def test_a_bad_history_record_or_condition_is_refused_with_its_key(tmp_path: Path, change: str, fix: str) -> None:
    text = HISTORY.replace(change, "- {name: stamp, type: u32}" if "time" in change else "when: {moed: [2]}")
    path = _write(tmp_path, text, "leak")
    with pytest.raises(ConfigError) as caught:
        load_codec("leak", path)
    assert any(line.startswith(f"{path}: frames.0.channels.2") and fix in line for line in caught.value.problems), \
        caught.value.problems
