"""The contract document ships in the wheel, where ``asyncapi_path()`` finds it on an installed gateway."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_asyncapi_document_and_its_schemas(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, timeout=300)
    names = set(zipfile.ZipFile(next(tmp_path.glob("edge_agent-*.whl"))).namelist())
    assert "edge_agent/_bundled/docs/asyncapi.yaml" in names
    schemas = sorted(p.name for p in (ROOT / "docs" / "schemas").glob("*.json"))
    assert len(schemas) >= 7
    missing = [name for name in schemas if f"edge_agent/_bundled/docs/schemas/{name}" not in names]
    assert not missing, f"schemas missing from the wheel: {missing}"
    contexts = sorted(str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs" / "contexts").rglob("*.json*"))
    assert "contexts/edge-agent.jsonld" in contexts and len(contexts) >= 8
    missing = [name for name in contexts if f"edge_agent/_bundled/docs/{name}" not in names]
    assert not missing, f"NGSI-LD contexts missing from the wheel (a broker without the internet needs them): {missing}"
    assert "edge_agent/_bundled/drivers/fiware.yaml" in names


@pytest.mark.parametrize("name", ["batch.json", "command-request.json", "command-response.json", "inventory.json",
                                  "ngsi-ld-batch.json", "record.json", "replay.json", "reports.json",
                                  "status.json"])
def test_every_schema_is_referenced_by_the_document(name: str) -> None:
    assert f"./schemas/{name}" in (ROOT / "docs" / "asyncapi.yaml").read_text() or name == "record.json"
