"""Every shipped codec against its own vectors (drivers/lorawan/*.vectors.yaml), plus the registry's contents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from edge_agent.lorawan.codec_api import CodecOptions, DecodeError, EncodeError
from edge_agent.lorawan.codecs import default_registry

REGISTRY = default_registry()


def _vectors(kind: str) -> list[Any]:
    cases = []
    for name in REGISTRY.names():
        data = yaml.safe_load(REGISTRY.vectors_path(name).read_text(encoding="utf-8"))
        assert data["codec"] == name
        for index, case in enumerate(data.get(kind, [])):
            cases.append(pytest.param(name, case, id=f"{name}-{kind}-{index}"))
    return cases


def test_every_codec_file_is_registered_and_has_vectors() -> None:
    folder = REGISTRY.folder
    files = {p.stem for p in folder.glob("*.py")}
    assert files == set(REGISTRY.names())
    for name in REGISTRY.names():
        data = yaml.safe_load(REGISTRY.vectors_path(name).read_text(encoding="utf-8"))
        assert [c for c in data["uplinks"] if "error" not in c], f"{name} has no decoding vector"
        assert any("fPort" in c["error"] for c in data["uplinks"] if "error" in c), f"{name}: no wrong-fPort vector"
        assert any("short" in c["error"] or "match" in c["error"] for c in data["uplinks"] if "error" in c)


def test_shipped_categories() -> None:
    """At least three bin sensors, two streetlight controllers and two counters."""
    names = REGISTRY.names()
    bins = {"dragino_ldds75", "milesight_em310_udl", "dingtek_df702"}
    lights = {"milesight_ws558", "dragino_lt22222l", "nas_ul20xx"}
    counters = {"parametric_pcr2", "imbuildings_people_counter"}
    assert bins | lights | counters <= set(names)
    for name in lights:
        assert "switch" in REGISTRY.get(name).commands
    assert "set_level" in REGISTRY.get("nas_ul20xx").commands


def test_codec_files_import_only_the_codec_api_and_the_standard_library() -> None:
    for path in Path(REGISTRY.folder).glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("import ", "from ")) and "edge_agent" in line:
                assert line.startswith("from edge_agent.lorawan.codec_api import"), f"{path.name}: {line}"
            if line.startswith(("import ", "from ")) and "edge_agent" not in line:
                assert line.split()[1].split(".")[0] in {"__future__", "struct", "math", "typing"}, line


@pytest.mark.parametrize(("name", "case"), _vectors("uplinks"))
def test_uplink_vector(name: str, case: dict[str, Any]) -> None:
    codec = REGISTRY.get(name)
    options = CodecOptions(**case.get("options", {}))
    data = bytes.fromhex(case["hex"])
    if "error" in case:
        with pytest.raises(DecodeError, match=case["error"]):
            codec.decode(case["f_port"], data, options)
        return
    decoded = codec.decode(case["f_port"], data, options)
    got = {p.name: p.value for p in decoded.points}
    assert got == pytest.approx(case["points"], abs=1e-6)
    assert {k: type(v) for k, v in got.items() if isinstance(v, bool)} == {
        k: bool for k, v in case["points"].items() if isinstance(v, bool)
    }
    for alarm, raised in case.get("alarms", {}).items():
        assert decoded.alarms[alarm] is raised, alarm
    assert decoded.battery_percent == case.get("battery_percent")
    for point in decoded.points:
        if point.unit == "%" and point.value is not None:
            assert 0 <= float(point.value) <= 100


@pytest.mark.parametrize(("name", "case"), _vectors("downlinks"))
def test_downlink_vector(name: str, case: dict[str, Any]) -> None:
    codec = REGISTRY.get(name)
    if "error" in case:
        with pytest.raises(EncodeError, match=case["error"]):
            codec.encode(case["command"], case["value"])
        return
    downlink = codec.encode(case["command"], case["value"])
    assert downlink.data.hex() == case["hex"]
    assert downlink.f_port == case["f_port"]


def test_a_codec_bug_becomes_a_decode_error(tmp_path: Path) -> None:
    (tmp_path / "registry.yaml").write_text("codecs:\n  broken: broken.py\n")
    (tmp_path / "broken.py").write_text(
        "MODEL = 'x'\nUPLINK_FPORTS = frozenset({1})\ndef decode(f_port, data, options):\n    return 1 / 0\n"
    )
    from edge_agent.lorawan.codecs import CodecRegistry

    with pytest.raises(DecodeError, match="ZeroDivisionError"):
        CodecRegistry(tmp_path).get("broken").decode(1, b"\x00")


def test_unknown_codec_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="dragino_ldds75"):
        REGISTRY.get("no_such_codec")
