"""Random bytes on every port of every codec: a decoded result or a clean DecodeError, nothing else."""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.lorawan.codec_api import CodecOptions, Decoded, DecodeError, Quality
from edge_agent.lorawan.codecs import default_registry
from edge_agent.lorawan.table_spec import Channel, hex_bytes, read_table_codec

REGISTRY = default_registry()
OPTIONS = CodecOptions(d_empty_mm=2000, d_full_mm=250, sensor_offset_mm=50)


@pytest.mark.parametrize("name", REGISTRY.names())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=64), f_port=st.one_of(st.integers(0, 255), st.sampled_from([1, 2, 3, 14, 26, 85])))
def test_random_bytes(name: str, data: bytes, f_port: int) -> None:
    codec = REGISTRY.get(name)
    try:
        result = codec._decode(f_port, data, OPTIONS)  # type: ignore[misc]  # the raw codec, unwrapped
    except DecodeError:
        return
    assert isinstance(result, Decoded)
    for point in result.points:
        if point.value is None:  # only a point the codec distrusts has no value
            assert point.quality is Quality.BAD, point
            continue
        assert isinstance(point.value, bool | int | float | str)
        if point.unit == "%":
            assert 0 <= float(point.value) <= 100


@pytest.mark.parametrize("name", REGISTRY.names())
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_bytes_on_the_device_ports(name: str, data: st.DataObject) -> None:
    """Biased to the real ports and plausible first bytes, so the deeper branches are reached too."""
    codec = REGISTRY.get(name)
    f_port = data.draw(st.sampled_from(sorted(codec.uplink_fports)))
    first = data.draw(st.sampled_from([b"", b"\x80\x00\x01\x01", b"\xbe\x01\x03", b"\xbe\x01\x04", b"\x02\x06",
                                       b"\x01\x75", b"\x03\x82", b"\x08\x31", b"\x0a"]))
    payload = first + data.draw(st.binary(max_size=40))
    try:
        result = codec._decode(f_port, payload, OPTIONS)  # type: ignore[misc]
    except DecodeError:
        return
    assert isinstance(result, Decoded)


# Channel-stream codecs: the measurement channels (id -> strategy for a valid value) and the documented channels
# that carry no measurement (attributes, replies to downlinks, records of known length but unused meaning).
def _u(size: int, low: int = 0, high: int | None = None) -> st.SearchStrategy[bytes]:
    top = (1 << (8 * size)) - 1 if high is None else high
    return st.integers(low, top).map(lambda n: n.to_bytes(size, "little"))


def _i16le() -> st.SearchStrategy[bytes]:
    return st.integers(-400, 850).map(lambda n: n.to_bytes(2, "little", signed=True))


def _be(size: int) -> st.SearchStrategy[bytes]:
    return st.integers(0, (1 << (8 * size)) - 1).map(lambda n: n.to_bytes(size, "big"))


MILESIGHT_ATTRIBUTES = {"ff01": 1, "ff09": 2, "ff0a": 2, "ffff": 2, "ff16": 8, "ff0f": 1, "fffe": 1, "ff0b": 1,
                        "fe10": 1, "ff10": 1, "fe03": 2, "ff03": 2}
TLV_CODECS: dict[str, tuple[int, dict[str, st.SearchStrategy[bytes]], dict[str, int]]] = {
    "milesight_em310_udl": (85, {"0175": _u(1, 0, 100), "0382": _u(2), "0400": st.sampled_from([b"\x00", b"\x01"])},
                            {**MILESIGHT_ATTRIBUTES, "fe02": 2, "ff02": 2, "fe06": 9, "ff06": 9}),
    "milesight_ws558": (85, {"0374": _u(2), "0480": _u(4), "0581": _u(1, 0, 100), "0683": _u(4), "07c9": _u(2),
                             "0831": _u(2)},
                        {**MILESIGHT_ATTRIBUTES, "ff28": 1, "fe28": 1, "ff26": 1, "ff27": 1, "ff23": 2, "ff32": 5,
                         "fe32": 5}),
    "parametric_pcr2": (14, {"0066": _u(1), "0166": _u(1), "0267": _be(2)},
                        {"0302": 2, "0400": 1, "0568": 1, "0673": 2}),
}


@pytest.mark.parametrize("name", sorted(TLV_CODECS))
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_measurements_survive_any_documented_non_measurement_channel(name: str, data: st.DataObject) -> None:
    """A valid measurement frame followed by any documented non-measurement channel keeps every measurement."""
    f_port, measurements, others = TLV_CODECS[name]
    chosen = data.draw(st.lists(st.sampled_from(sorted(measurements)), min_size=1, unique=True))
    if name == "parametric_pcr2":  # an LPP payload starts with channel 0 (how the codec tells it from ELSYS)
        chosen = ["0066"] + [cid for cid in chosen if cid != "0066"]
    frame = b"".join(bytes.fromhex(cid) + data.draw(measurements[cid]) for cid in chosen)
    alone = REGISTRY.get(name).decode(f_port, frame, OPTIONS)
    extra_ids = data.draw(st.lists(st.sampled_from(sorted(others)), min_size=1, max_size=3))
    extra = b"".join(bytes.fromhex(cid) + data.draw(st.binary(min_size=others[cid], max_size=others[cid]))
                     for cid in extra_ids)
    tail = data.draw(st.sampled_from([b"", bytes.fromhex("9999") + data.draw(st.binary(max_size=6))]))
    combined = REGISTRY.get(name).decode(f_port, frame + extra + tail, OPTIONS)
    kept = {p.name: (p.value, p.quality) for p in combined.points}
    for point in alone.points:
        assert kept.get(point.name) == (point.value, point.quality), point.name
    assert {k: v for k, v in combined.alarms.items() if k in alone.alarms} == alone.alarms


# The Milesight TLV codecs written in Python: their measurement channels and the attribute, reply and history
# channels the vendor documents beside them (lengths from the codecs' own tables, which follow the vendor's).
def _replies(ids: dict[int, int], *, channels: tuple[int, ...], extra: int = 0) -> dict[str, int]:
    return {f"{channel:02x}{kind:02x}": length + (extra if channel == 0xF8 else 0)
            for channel in channels for kind, length in ids.items()}


_VS_ATTRIBUTES = {"ff01": 1, "ff09": 2, "ff0a": 2, "ff1f": 4, "ffff": 2, "ff0f": 1, "fffe": 1, "ff0b": 1}
TLV_CODECS["milesight_vs121"] = (
    85, {"04c9": _u(4), "05cc": _u(4), "06cd": _u(1), "07d5": _u(8), "08d5": _u(8), "09da": _u(8), "0ada": _u(8),
         "0bda": _u(8), "0cda": _u(8), "0dcc": _u(4), "0ee4": _u(5)},
    {**_VS_ATTRIBUTES, "ff08": 6,
     **_replies({0x03: 2, 0x04: 1, 0x10: 1, 0x40: 1, 0x43: 1, 0x45: 1, 0x46: 3, 0x50: 1}, channels=(0xFE, 0xFF)),
     **_replies({0x10: 1, 0x85: 2, 0x8D: 4, 0x90: 6, 0x99: 7}, channels=(0xF8, 0xF9), extra=1)})
TLV_CODECS["milesight_vs133"] = (
    85, {"03d2": _u(4), "04d2": _u(4), "05cc": _u(4), "06d2": _u(4), "07d2": _u(4), "08cc": _u(4), "0cd2": _u(4),
         "0dd2": _u(4), "0ecc": _u(4), "0fe3": _u(4), "10e4": _u(5), "11d2": _u(4), "50fc": _u(3)},
    {**_VS_ATTRIBUTES, "ff16": 8,
     **_replies({0x03: 2, 0x04: 1, 0x10: 1, 0x11: 4, 0x27: 1, 0x6A: 3}, channels=(0xFE, 0xFF)),
     **_replies({0x84: 3, 0x85: 2, 0x88: 2}, channels=(0xF8, 0xF9), extra=1),
     "20ce": 9})


# Every table codec's channel streams: the measurement channels are its channels with fields, the non-measurement
# ones its skipped channels, the shared blocks it includes and the Milesight attribute and reply channels (fe xx,
# ff xx), that a device sends beside its measurements.
@functools.cache
def _stream(name: str, frame_name: str) -> tuple[int, int, dict[bytes, Channel], dict[bytes, Channel]]:
    import yaml

    spec = read_table_codec(REGISTRY.path(name))
    frame = next(f for f in spec.frames if f.name == frame_name)
    raw = yaml.safe_load(REGISTRY.path(name).read_text())
    own_channels = next(f for f in raw["frames"] if f["name"] == frame_name).get("channels", [])
    own = {hex_bytes(item, "id") for ch in own_channels for item in ([ch["id"]] if isinstance(ch["id"], str)
                                                                      else ch["id"])}
    by_id = {cid: channel for channel in frame.channels for cid in channel.ids()}

    def other(cid: bytes, channel: Channel) -> bool:
        return channel.skip is not None or cid not in own or (frame.id_size == 2 and cid[0] in (0xFE, 0xFF))

    measurements = {cid: ch for cid, ch in by_id.items() if not other(cid, ch)}
    measured = {f.name for ch in measurements.values() for f in ch.fields if f.name}
    others = {cid: ch for cid, ch in by_id.items()
              if other(cid, ch) and not {f.name for f in ch.fields if f.name} & measured}
    return min(frame.fports or spec.uplink_fports), frame.id_size, measurements, others


def _channel_body(channel: Channel) -> st.SearchStrategy[bytes]:
    rule = channel.length_by
    if rule is None:
        size = channel.size()
        return st.binary(min_size=size, max_size=size)
    if rule.lengths is not None:
        kind, size = sorted(rule.lengths.items())[0]
        return st.binary(min_size=size, max_size=size).map(
            lambda body: body[:rule.byte] + bytes([kind]) + body[rule.byte + 1:])
    add = rule.add
    assert add is not None
    return st.integers(0, 6).flatmap(lambda n: st.binary(min_size=n + add, max_size=n + add).map(
        lambda body: body[:rule.byte] + bytes([n]) + body[rule.byte + 1:]))


def _table_streams() -> list[tuple[str, str]]:
    streams = []
    for name in REGISTRY.names():
        path = REGISTRY.path(name)
        if path.name.endswith(".codec.yaml"):
            streams += [(name, f.name) for f in read_table_codec(path).frames if f.layout == "channels"]
    return streams


TABLE_STREAMS = _table_streams()


def test_every_table_codec_with_a_channel_stream_is_covered() -> None:
    tables = {name for name in REGISTRY.names() if REGISTRY.path(name).name.endswith(".codec.yaml")}
    streamed = {name for name, _ in TABLE_STREAMS}
    fixed_only = {"elvexys_lem302"}  # fixed frames only: no channel can stand beside its measurements
    assert streamed == tables - fixed_only
    for name, frame_name in TABLE_STREAMS:
        _, _, measurements, others = _stream(name, frame_name)
        assert measurements and others, (name, frame_name)
    assert {"milesight_vs121", "milesight_vs133", "milesight_ws558", "parametric_pcr2"} <= set(TLV_CODECS)


@pytest.mark.parametrize(("name", "frame_name"), TABLE_STREAMS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_table_measurements_survive_any_documented_non_measurement_channel(name: str, frame_name: str,
                                                                          data: st.DataObject) -> None:
    f_port, id_size, measurements, others = _stream(name, frame_name)
    codec = REGISTRY.get(name)
    chosen = data.draw(st.lists(st.sampled_from(sorted(measurements)), min_size=1, max_size=4, unique=True))
    frame_bytes = b"".join(cid + data.draw(_channel_body(measurements[cid])) for cid in chosen)
    alone = codec.decode(f_port, frame_bytes, OPTIONS)
    extra_ids = data.draw(st.lists(st.sampled_from(sorted(others)), min_size=1, max_size=3))
    extra = b"".join(cid + data.draw(_channel_body(others[cid])) for cid in extra_ids)
    tail = data.draw(st.sampled_from([b"", bytes([0x99] * id_size) + data.draw(st.binary(max_size=6))]))
    payload = frame_bytes + extra + tail
    combined = codec.decode(f_port, payload, OPTIONS)
    kept = {p.name: (p.value, p.quality) for p in combined.points}
    for point in alone.points:
        assert kept.get(point.name) == (point.value, point.quality), (point.name, payload.hex())
    assert {k: v for k, v in combined.alarms.items() if k in alone.alarms} == alone.alarms


# Percentages above 100 % that coverage-guided fuzzing found passed on as GOOD points (tests/fuzz/corpus/codecs/
# keeps the same inputs): each is now a BAD point saying what the device sent, the rest of the frame kept.
PERCENT_OVER_100 = [
    ("nas_ul20xx", 26, "00ff80d0ef2f0112ff479403002a00f94a03002700f94a030027005def2f01", "power_factor.dali_single_9"),
    ("nas_ul20xx", 23, "01f37f2086800032091600001250ccff53513277", "dimming_level.dali_single_9"),
    ("nas_ul20xx", 60, "0912ce75", "commanded_level.dali_single_9"),
    ("nas_ul20xx", 50, "28011364ffa200780054", "config.inactive_dimming_level"),
    ("nas_ul20xx", 50, "fe0710035f3325bf", "config.fallback_dimming_level"),
    ("nas_ul20xx", 50, "0e2291", "config.max_dimming_level"),
    ("parametric_pcr2", 190, "be01030303040a00020001000a05a0005e003cc3", "config.radar_sensitivity"),
    ("parametric_pcr2", 14, "be01030000000000010000e0e4013921", "solar_battery"),
    ("milesight_ws558", 85, "083100010581e807c902000374b27f068301000000048001000000", "power_factor"),
]


@pytest.mark.parametrize(("name", "f_port", "payload", "point"), PERCENT_OVER_100,
                         ids=[f"{case[0]}-{case[3]}" for case in PERCENT_OVER_100])
def test_a_percentage_above_100_is_a_bad_point(name: str, f_port: int, payload: str, point: str) -> None:
    decoded = REGISTRY.get(name).decode(f_port, bytes.fromhex(payload), OPTIONS)
    bad = next(p for p in decoded.points if p.name == point)
    assert bad.value is None and bad.quality is Quality.BAD and bad.unit == "%"
    assert any(note.startswith(f"{point}: the device sent ") and "above 100 %" in note for note in decoded.notes)
    assert len(decoded.points) > 1  # the frame's other points are kept
    if point == "solar_battery":
        assert decoded.battery_percent is None
