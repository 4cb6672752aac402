"""Random bytes on every port of every codec: a decoded result or a clean DecodeError, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.lorawan.codec_api import CodecOptions, Decoded, DecodeError, Quality
from edge_agent.lorawan.codecs import default_registry

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
