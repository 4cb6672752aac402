"""Every shipped codec against its own vectors (drivers/lorawan/*.vectors.yaml), plus the registry's contents.

The comparison here is written independently of ``edge_agent.lorawan.vectors`` (what ``drivers check`` runs):
both must agree on every bundled vector, and the runner must report a vector that is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge_agent.lorawan.codec_api import DOMAINS, CodecOptions, DecodeError, EncodeError, Quality
from edge_agent.lorawan.codecs import codec_name, default_registry, load_codec
from edge_agent.lorawan.vectors import check_vectors

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
    files = {codec_name(p) for p in folder.iterdir()} - {None}
    assert files == set(REGISTRY.names())
    for name in REGISTRY.names():
        data = yaml.safe_load(REGISTRY.vectors_path(name).read_text(encoding="utf-8"))
        assert [c for c in data["uplinks"] if "error" not in c], f"{name} has no decoding vector"
        assert any("fPort" in c["error"] for c in data["uplinks"] if "error" in c), f"{name}: no wrong-fPort vector"
        assert any("short" in c["error"] or "match" in c["error"] for c in data["uplinks"] if "error" in c)


def test_every_shipped_codec_names_its_domain_and_one_is_declarative() -> None:
    kinds = set()
    for name in REGISTRY.names():
        codec = REGISTRY.get(name)
        assert codec.domain in DOMAINS, name
        kinds.add(codec.kind)
    assert kinds == {"python", "table"}


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
                assert line.split()[1].split(".")[0] in {"__future__", "struct", "math", "typing", "collections"}, line


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
    expected_quality = case.get("quality", {})
    assert {p.name: p.quality for p in decoded.points} == {
        p.name: Quality[expected_quality.get(p.name, "good").upper()] for p in decoded.points}
    for point in decoded.points:
        assert (point.value is None) == (point.quality is Quality.BAD), point
    for alarm, raised in case.get("alarms", {}).items():
        assert decoded.alarms[alarm] is raised, alarm
    assert decoded.battery_percent == case.get("battery_percent")
    skipped = case.get("skipped", 0)
    assert len(decoded.skipped) == (skipped if isinstance(skipped, int) else len(skipped)), decoded.skipped
    if "notes" in case:
        assert len(decoded.notes) == len(case["notes"]), decoded.notes
        for needle in case["notes"]:
            assert any(needle in note for note in decoded.notes), f"nothing says {needle!r} in {decoded.notes}"
    for point in decoded.points:
        if point.unit == "%" and point.value is not None and not isinstance(point.value, str):
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


def test_the_vector_runner_agrees_and_reports_a_wrong_vector(tmp_path: Path) -> None:
    for name in REGISTRY.names():
        assert check_vectors(REGISTRY.get(name), REGISTRY.vectors_path(name)) == [], name
    source = REGISTRY.vectors_path("dragino_ldds75").read_text(encoding="utf-8")
    wrong = tmp_path / "dragino_ldds75.vectors.yaml"
    wrong.write_text(source.replace("distance: 2025, fill_level: 36.1", "distance: 2026, fill_level: 36.1", 1)
                     .replace('error: "fPort 3"', 'error: "fPort 9"'), encoding="utf-8")
    failures = check_vectors(REGISTRY.get("dragino_ldds75"), wrong)
    assert len(failures) == 2, failures
    assert re.search(r"uplinks\[0\].*point distance = 2025, expected 2026", failures[0])
    assert "expected an error matching 'fPort 9'" in failures[1]


# Devices whose data port is a setting: one layout on every port, so one decoding vector stands for all of them.
PORT_AGNOSTIC = {"elsys_ers"}
# ports whose layout is that of another port the vectors cover (a device setting moves a frame there)
SAME_LAYOUT = {"yobiiq_rm200_fw21": set(range(51, 100))}  # device information: fPort 50 by default, 50-99


def test_every_documented_frame_type_has_a_vector() -> None:
    """Each fPort a codec takes, and each NAS packet header, is covered by at least one decoding vector."""
    for name in REGISTRY.names():
        data = yaml.safe_load(REGISTRY.vectors_path(name).read_text(encoding="utf-8"))
        decoded_ports = {c["f_port"] for c in data["uplinks"] if "error" not in c}
        if name in PORT_AGNOSTIC:
            assert decoded_ports and decoded_ports <= set(REGISTRY.get(name).uplink_fports), name
            continue
        required = set(REGISTRY.get(name).uplink_fports) - SAME_LAYOUT.get(name, set())
        assert required <= decoded_ports <= set(REGISTRY.get(name).uplink_fports), name
    nas = yaml.safe_load(REGISTRY.vectors_path("nas_ul20xx").read_text(encoding="utf-8"))
    headers = {(c["f_port"], c["hex"][:2].lower()) for c in nas["uplinks"] if "error" not in c}
    for port, header in ((61, "80"), (61, "81"), (61, "83"), (61, "84"), (61, "85"), (61, "86"), (99, "00"),
                         (99, "13"), (60, "01"), (60, "03"), (60, "04"), (60, "05"), (60, "07"), (60, "08"),
                         (60, "09"), (60, "0a"), (60, "0b"), (60, "0c"), (49, "07"), (50, "fe")):
        assert (port, header) in headers, (port, header)


def test_a_codec_bug_becomes_a_decode_error(tmp_path: Path) -> None:
    (tmp_path / "registry.yaml").write_text("codecs:\n  broken: broken.py\n")
    (tmp_path / "broken.py").write_text(
        "MODEL = 'x'\nUPLINK_FPORTS = frozenset({1})\ndef decode(f_port, data, options):\n    return 1 / 0\n"
    )
    from edge_agent.lorawan.codecs import CodecRegistry

    with pytest.raises(DecodeError, match="ZeroDivisionError"):
        CodecRegistry.read(tmp_path).get("broken").decode(1, b"\x00")


def test_a_codec_that_builds_nan_itself_gives_a_bad_point(tmp_path: Path) -> None:
    """A site codec may make Points without the builder: the loader's wrapper still never lets NaN out."""
    path = tmp_path / "raw.py"
    path.write_text(
        "from edge_agent.lorawan.codec_api import Decoded, Point\nMODEL = 'x'\nUPLINK_FPORTS = frozenset({1})\n"
        "def decode(f_port, data, options):\n    return Decoded((Point('t', float('nan'), 'C'), Point('u', 1)))\n")
    decoded = load_codec("raw", path).decode(1, b"")
    assert [(p.name, p.value, p.quality) for p in decoded.points] == [("t", None, Quality.BAD), ("u", 1, Quality.GOOD)]
    assert "not a finite number" in decoded.notes[0]


def test_unknown_codec_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="dragino_ldds75"):
        REGISTRY.get("no_such_codec")


def test_the_registry_reads_its_file_in_read_and_builds_from_what_was_read(tmp_path: Path) -> None:
    from edge_agent.lorawan.codecs import CodecRegistry

    missing = tmp_path / "nowhere"
    registry = CodecRegistry(missing, {"broken": "broken.py"})  # no file is touched
    assert registry.names() == ["broken"] and registry.path("broken") == missing / "broken.py"
    with pytest.raises(FileNotFoundError):
        CodecRegistry.read(missing)
