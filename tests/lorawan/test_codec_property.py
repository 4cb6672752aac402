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
