"""``edge-agent decode``: JSON on success, one error line and exit code 1 on a bad payload."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edge_agent.cli.main import app

runner = CliRunner()


def test_decode_prints_json() -> None:
    result = runner.invoke(app, ["decode", "--driver", "dragino_ldds75", "--fport", "2", "--hex", "0d0a07e900000001",
                                 "--d-empty", "3000", "--d-full", "300"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["points"]["distance"] == {"value": 2025, "unit": "mm", "quality": "good"}
    assert out["points"]["fill_level"]["value"] == 36.1
    assert out["model"] == "Dragino LDDS75"


def test_truncated_payload_is_one_line_and_exit_1() -> None:
    result = runner.invoke(app, ["decode", "--driver", "milesight_ws558", "--fport", "85", "--hex", "068301"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot decode with milesight_ws558")


def test_wrong_port_unknown_driver_and_bad_hex() -> None:
    for args, needle in (
        (["--driver", "dingtek_df702", "--fport", "9", "--hex", "80"], "fPort 9"),
        (["--driver", "no_such", "--fport", "1", "--hex", "00"], "no codec named"),
        (["--driver", "dingtek_df702", "--fport", "3", "--hex", "xyz"], "not hex"),
    ):
        result = runner.invoke(app, ["decode", *args])
        assert result.exit_code == 1 and needle in result.output
        assert len(result.output.strip().splitlines()) == 1
