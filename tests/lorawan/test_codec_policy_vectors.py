"""Every shipped codec names its domain, and the shipped models cover every field domain.

The vectors' codec-policy keys (``quality``, ``skipped``, ``notes``) are checked with the rest of each vector in
``test_codecs.py``.
"""

from __future__ import annotations

from collections import Counter

import pytest

from edge_agent.domains import DOMAINS
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
