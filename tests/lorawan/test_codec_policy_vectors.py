"""Every shipped codec names its domain, and the shipped models cover every field domain.

The vectors' codec-policy keys (``quality``, ``skipped``, ``notes``) are checked with the rest of each vector in
``test_codecs.py``.
"""

from __future__ import annotations

from collections import Counter

import pytest

from edge_agent.domains import DOMAINS
from edge_agent.lorawan.codec_api import DecodedBuilder, Quality
from edge_agent.lorawan.codecs import default_registry

REGISTRY = default_registry()


@pytest.mark.parametrize("name", REGISTRY.names())
def test_codec_names_its_domain(name: str) -> None:
    assert REGISTRY.get(name).domain in DOMAINS


def test_the_shipped_models_cover_every_field_domain() -> None:
    """Breadth: waste, mobility, water, security, environment and lighting, several models each."""
    counts = Counter(REGISTRY.get(name).domain for name in REGISTRY.names())
    assert counts["waste"] >= 6 and counts["water"] >= 5
    assert counts["mobility"] >= 5 and counts["security"] >= 3
    assert counts["environment"] >= 3 and counts["lighting"] >= 5


def test_a_percentage_outside_0_to_100_is_a_bad_point_never_a_clamped_one() -> None:
    out = DecodedBuilder()
    out.percent("battery", 87, battery=True)
    out.percent("humidity", 100.5)
    out.percent("fill_level", 0)
    decoded = out.build()
    assert [(p.name, p.value, p.unit, p.quality) for p in decoded.points] == [
        ("battery", 87, "%", Quality.GOOD), ("humidity", None, "%", Quality.BAD), ("fill_level", 0, "%", Quality.GOOD)]
    assert decoded.battery_percent == 87
    assert decoded.notes == ("humidity: the device sent 100.5 %, above 100 %",)
    low = DecodedBuilder()
    low.percent("battery", -1, battery=True)
    assert low.build().battery_percent is None and "not within 0-100" in low.build().notes[0]
