"""The codec-policy keys of the vectors (drivers/lorawan/*.vectors.yaml): point quality, skipped channels, domain.

A vector may give ``quality`` (point name -> good, uncertain or bad; unlisted points must be good) and
``skipped`` (how many channels or records the codec passed over; 0 when absent). Every codec names its domain.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import yaml

from edge_agent.domains import DOMAINS
from edge_agent.lorawan.codec_api import CodecOptions, Quality
from edge_agent.lorawan.codecs import default_registry

REGISTRY = default_registry()


def _decoding_vectors() -> list[Any]:
    cases = []
    for name in REGISTRY.names():
        data = yaml.safe_load(REGISTRY.vectors_path(name).read_text(encoding="utf-8"))
        for index, case in enumerate(data.get("uplinks", [])):
            if "error" not in case and ("quality" in case or "skipped" in case):
                cases.append(pytest.param(name, case, id=f"{name}-{index}"))
    return cases


@pytest.mark.parametrize(("name", "case"), _decoding_vectors())
def test_quality_and_skipped(name: str, case: dict[str, Any]) -> None:
    decoded = REGISTRY.get(name).decode(case["f_port"], bytes.fromhex(case["hex"]),
                                        CodecOptions(**case.get("options", {})))
    wanted = case.get("quality", {})
    got = {p.name: p.quality for p in decoded.points}
    assert set(wanted) <= set(got), f"quality given for points the codec did not emit: {set(wanted) - set(got)}"
    for point, quality in got.items():
        assert quality is Quality[wanted.get(point, "good").upper()], point
    assert len(decoded.skipped) == case.get("skipped", 0), decoded.skipped
    for point in decoded.points:
        assert (point.value is None) == (point.quality is Quality.BAD), point


def _domain(name: str) -> object:
    path = REGISTRY.folder / f"{REGISTRY.vectors_path(name).name.removesuffix('.vectors.yaml')}.py"
    spec = importlib.util.spec_from_file_location(f"domain_probe_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "DOMAIN", None)


NEW_CODECS = sorted(set(REGISTRY.names()) - {
    "dragino_ldds75", "milesight_em310_udl", "dingtek_df702", "milesight_ws558", "dragino_lt22222l",
    "parametric_pcr2", "imbuildings_people_counter", "nas_ul20xx"})


@pytest.mark.parametrize("name", NEW_CODECS)
def test_codec_names_its_domain(name: str) -> None:
    assert _domain(name) in DOMAINS


def test_the_added_models_cover_every_field_domain() -> None:
    """Breadth: the added codecs reach waste, mobility, water, security, environment and lighting."""
    counts: dict[object, int] = {}
    for name in NEW_CODECS:
        domain = _domain(name)
        counts[domain] = counts.get(domain, 0) + 1
    assert counts.get("waste", 0) >= 4 and counts.get("water", 0) >= 5
    assert counts.get("mobility", 0) >= 3 and counts.get("security", 0) >= 3
    assert counts.get("environment", 0) >= 3 and counts.get("lighting", 0) >= 2
