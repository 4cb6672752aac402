"""Every profile in drivers/modbus/ decodes its hand-computed vectors (and re-encodes its writable points)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from edge_agent.modbus.datatypes import encode
from edge_agent.modbus.plan import decode_point
from edge_agent.modbus.profile import PointSpec, Profile, available_profiles, load_profile, profiles_dir
from edge_agent.reading import Quality

VECTOR_FILES = sorted(profiles_dir().glob("*.vectors.yaml"))


def _cases() -> list[Any]:
    cases = []
    for path in VECTOR_FILES:
        data = yaml.safe_load(path.read_text())
        for vector in data["vectors"]:
            cases.append(pytest.param(data["profile"], vector, id=f"{path.stem}:{vector['name']}"))
    return cases


def test_every_profile_has_vectors_and_every_vector_file_a_profile() -> None:
    with_vectors = {path.name.removesuffix(".vectors.yaml") for path in VECTOR_FILES}
    assert with_vectors == set(available_profiles())
    assert {"eastron_sdm120", "streetlight_cabinet_4c", "traffic_counter"} <= with_vectors


def _image(registers: dict[str, dict[int, list[int]]]) -> dict[str, dict[int, int]]:
    image: dict[str, dict[int, int]] = {}
    for table, chunks in registers.items():
        cells = image.setdefault(table, {})
        for start, words in chunks.items():
            for index, word in enumerate(words):
                cells[int(start) + index] = int(word)
    return image


def _words(profile: Profile, spec: PointSpec, image: dict[str, dict[int, int]]) -> list[int]:
    width = profile.codec(spec).width
    cells = image.get(spec.table, {})
    missing = [a for a in range(spec.address, spec.address + width) if a not in cells]
    assert not missing, f"vector expects '{spec.name}' but gives no contents for addresses {missing}"
    return [cells[a] for a in range(spec.address, spec.address + width)]


@pytest.mark.parametrize(("profile_name", "vector"), _cases())
def test_vector(profile_name: str, vector: dict[str, Any]) -> None:
    profile = load_profile(profile_name)
    image = _image(vector["registers"])
    qualities = vector.get("quality", {})
    assert vector["expect"], "a vector must expect something"
    for name, expected in vector["expect"].items():
        spec = profile.point(name)
        codec = profile.codec(spec)
        words = _words(profile, spec, image)
        decoded = decode_point(spec, codec, [bool(w) for w in words] if codec.type == "bool" else words)
        want_quality = Quality[qualities.get(name, "good").upper()]
        assert decoded.quality is want_quality, name
        if expected is None:
            assert decoded.value is None, name
        elif isinstance(expected, float):
            assert decoded.value == pytest.approx(expected, rel=1e-6), name
        else:
            assert decoded.value == expected, name
            assert type(decoded.value) is type(expected), name
        if spec.writable and expected is not None:
            assert encode(expected, codec) == words, f"{name} does not re-encode to its registers"


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: Path(p).stem)
def test_each_vector_file_has_an_error_vector(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert any(v.get("quality") for v in data["vectors"]), "add a vector whose values are uncertain or bad"
