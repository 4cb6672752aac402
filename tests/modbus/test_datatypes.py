from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.errors import DecodeError, WriteRejected
from edge_agent.modbus.datatypes import RegisterCodec, decode, encode


@pytest.mark.parametrize(
    ("words", "codec", "expected"),
    [
        ([0x4366, 0x0000], RegisterCodec("f32"), 230.0),
        ([0x0000, 0x4366], RegisterCodec("f32", word_order="little"), 230.0),
        ([0x6643, 0x0000], RegisterCodec("f32", byte_order="little"), 230.0),
        ([0x0000, 0x6643], RegisterCodec("f32", word_order="little", byte_order="little"), 230.0),
        ([0xFFFF, 0xFA24], RegisterCodec("s32"), -1500),
        ([0xFA24, 0xFFFF], RegisterCodec("s32", word_order="little"), -1500),
        ([0x0000, 0x0001, 0x2A05, 0xF200], RegisterCodec("u64"), 5_000_000_000),
        ([0x4051, 0x8000, 0, 0], RegisterCodec("f64"), 70.0),
        ([0, 0, 0x8000, 0x4051], RegisterCodec("f64", word_order="little"), 70.0),
        ([0xFFC9], RegisterCodec("s16", scale=0.1), -5.5),
        ([2305], RegisterCodec("u16", scale=0.1), 230.5),
        ([100], RegisterCodec("u16", scale=0.5, offset=-40), 10.0),
        ([0b100], RegisterCodec("bit", bit=2), True),
        ([0b100], RegisterCodec("bit", bit=1), False),
        ([0x5632, 0x2E31, 0x2E37, 0], RegisterCodec("string", length=4), "V2.1.7"),
        ([0x3256, 0x312E], RegisterCodec("string", length=2, byte_order="little"), "V2.1"),
    ],
)
def test_decode_hand_computed(words: list[int], codec: RegisterCodec, expected: object) -> None:
    assert decode(words, codec) == pytest.approx(expected)


def test_decode_refuses_wrong_length_and_out_of_range_words() -> None:
    with pytest.raises(DecodeError):
        decode([0x4366], RegisterCodec("f32"))
    with pytest.raises(DecodeError):
        decode([0x10000], RegisterCodec("u16"))


def test_nan_decodes_as_nan() -> None:
    assert math.isnan(float(decode([0x7FC0, 0], RegisterCodec("f32"))))


def test_encode_rejects_what_does_not_fit() -> None:
    with pytest.raises(WriteRejected):
        encode(70000, RegisterCodec("u16"))
    with pytest.raises(WriteRejected):
        encode(-1, RegisterCodec("u16"))
    with pytest.raises(WriteRejected):
        encode("toolongstring", RegisterCodec("string", length=2))
    with pytest.raises(WriteRejected):
        encode(2, RegisterCodec("bool"))


@given(
    st.sampled_from(["u16", "s16", "u32", "s32", "u64", "s64"]),
    st.sampled_from(["big", "little"]),
    st.sampled_from(["big", "little"]),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
)
def test_integers_round_trip(kind: str, words: str, bytes_: str, value: int) -> None:
    codec = RegisterCodec(kind, word_order=words, byte_order=bytes_)  # type: ignore[arg-type]
    try:
        registers = encode(value, codec)
    except WriteRejected:
        return
    assert decode(registers, codec) == value


@given(st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from(["big", "little"]))
def test_f32_round_trip(value: float, words: str) -> None:
    codec = RegisterCodec("f32", word_order=words)  # type: ignore[arg-type]
    assert decode(encode(value, codec), codec) == value


def test_scaled_encode_rounds_to_the_register_step() -> None:
    codec = RegisterCodec("u16", scale=0.1)
    assert encode(230.46, codec) == [2305]


def test_u64_beyond_float_precision_round_trips_exactly() -> None:
    codec = RegisterCodec("u64")
    assert encode(2**53 + 1, codec) == [0x0020, 0x0000, 0x0000, 0x0001]
    assert decode([0x0020, 0x0000, 0x0000, 0x0001], codec) == 2**53 + 1
