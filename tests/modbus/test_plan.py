from __future__ import annotations

from edge_agent.modbus.plan import build_plan, decode_block, naive_request_count
from edge_agent.modbus.profile import Profile, load_profile
from edge_agent.reading import Quality


def _profile(points: list[dict[str, object]]) -> Profile:
    return Profile.model_validate({"device": {"manufacturer": "t", "model": "t"}, "points": points})


def test_sdm120_needs_three_reads_instead_of_fourteen() -> None:
    profile = load_profile("eastron_sdm120")
    plan = build_plan(profile, max_gap=10)
    assert [(b.table, b.start, b.count) for b in plan] == [("input", 0, 38), ("input", 70, 10), ("input", 342, 4)]
    assert naive_request_count(profile) == 14


def test_gap_zero_splits_at_every_hole() -> None:
    plan = build_plan(load_profile("eastron_sdm120"), max_gap=0)
    assert len(plan) == 9  # 7 lone points, 0x46..0x4E contiguous (5 points), 0x156 and 0x158 contiguous


def test_reads_never_exceed_125_registers() -> None:
    points = [{"name": f"p{i}", "table": "input", "address": i * 2, "type": "f32"} for i in range(100)]
    plan = build_plan(_profile(points), max_gap=10)
    assert [b.count for b in plan] == [124, 76]
    assert all(b.count <= 125 for b in plan)


def test_tables_are_planned_apart_and_bits_merge_up_to_2000() -> None:
    points = [{"name": f"c{i}", "table": "coil", "address": i * 10} for i in range(250)]
    points += [{"name": "h", "table": "holding", "address": 0}, {"name": "i", "table": "input", "address": 0}]
    plan = build_plan(_profile(points), max_gap=10)
    assert [(b.table, b.start, b.count) for b in plan] == [
        ("coil", 0, 1991), ("coil", 2000, 491), ("holding", 0, 1), ("input", 0, 1),
    ]


def test_overlapping_points_share_registers() -> None:
    points = [
        {"name": "whole", "table": "input", "address": 5, "type": "u16"},
        {"name": "flag", "table": "input", "address": 5, "type": "bit", "bit": 3},
    ]
    plan = build_plan(_profile(points))
    assert [(b.start, b.count) for b in plan] == [(5, 1)]
    decoded = decode_block(plan[0], [0b1000])
    assert [(d.point.name, d.value) for d in decoded] == [("whole", 8), ("flag", True)]


def test_decode_block_marks_quality() -> None:
    profile = load_profile("eastron_sdm120")
    block = build_plan(profile, points=["voltage", "current"])[0]
    words = [0] * block.count
    words[0:2] = [0x43AF, 0x0000]  # 350 V: above valid_max 300
    words[6:8] = [0x7FC0, 0x0000]  # NaN
    decoded = {d.point.name: d for d in decode_block(block, words)}
    assert decoded["voltage"].quality is Quality.UNCERTAIN
    assert decoded["current"].quality is Quality.BAD
    assert decoded["current"].value is None


def test_compiled_decoders_agree_with_the_general_path_on_every_shipped_profile() -> None:
    """The plan's compiled decoders (the polling path) give the value and quality ``decode_point`` gives, for
    every point of every shipped profile, on register contents that hit NaN, infinities, sign bits, range limits
    and wrong lengths."""
    import random

    from edge_agent.modbus.plan import decode_point
    from edge_agent.modbus.profile import available_profiles

    rng = random.Random(16)
    special = [0x0000, 0xFFFF, 0x7FC0, 0x7F80, 0xFF80, 0x8000, 0x7FFF, 0x43AF, 0x0001]
    compared = 0
    for name in available_profiles():
        for block in build_plan(load_profile(name)):
            for _ in range(60):
                pool = [rng.choice(special), rng.randrange(0x10000), 0]
                words = [rng.choice(pool) for _ in range(block.count)]
                values: list[int] | list[bool] = [w & 1 == 1 for w in words] if block.table in ("coil", "discrete") \
                    else words
                for step in block.steps:
                    chunk = values[step.first:step.end]
                    expected = decode_point(step.item.spec, step.item.codec, chunk)
                    got = step.decode(chunk)
                    assert got == (expected.value, expected.quality), (name, step.name, chunk)
                    assert type(got[0]) is type(expected.value), (name, step.name, chunk)
                    compared += 1
                short = block.steps[-1]
                assert short.decode(values[short.first:short.end - 1] if short.end - short.first > 1 else [])[1] \
                    is Quality.BAD
    assert compared > 1000
