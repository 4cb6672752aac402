"""The installer's driver tools: ``drivers check`` (one line per failure, exit code) and ``drivers list``.

Also what becomes of a device whose site driver file is broken: reported unusable, the others served.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from edge_agent.catalog import Catalog
from edge_agent.cli.main import app
from edge_agent.clock import SystemClock
from edge_agent.lorawan.config import LorawanDeviceConfig
from edge_agent.lorawan.intake import EventIntake
from edge_agent.reading import Event
from tests.lorawan.support import event_topic, uplink_event

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "site-drivers"
EM300 = EXAMPLES / "lorawan" / "milesight_em300_th.codec.yaml"


def _site_dir(tmp_path: Path) -> Path:
    site = tmp_path / "drivers"
    shutil.copytree(EXAMPLES, site)
    return site


def test_the_example_site_drivers_pass() -> None:
    result = runner.invoke(app, ["drivers", "check", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all(": ok: " in line for line in lines)
    assert "domain environment" in result.stdout


def test_every_failure_is_one_line_naming_the_file_the_key_and_the_fix(tmp_path: Path) -> None:
    site = _site_dir(tmp_path)
    codec = site / "lorawan" / "milesight_em300_th.codec.yaml"
    codec.write_text(codec.read_text().replace("{name: humidity, type: u8", "{name: humidity, tipe: u8", 1))
    broken_py = site / "lorawan" / "acme_meter.py"
    broken_py.write_text("MODEL = 'Acme'\nUPLINK_FPORTS = frozenset({2})\ndef decode(f_port, data options):\n")
    lonely = site / "lorawan" / "acme_probe.py"
    lonely.write_text("from edge_agent.lorawan.codec_api import DecodedBuilder\nMODEL = 'Acme probe'\n"
                      "DOMAIN = 'water'\nUPLINK_FPORTS = frozenset({2})\n"
                      "def decode(f_port, data, options):\n    return DecodedBuilder().build()\n")
    vectors = site / "modbus" / "eastron_sdm630.vectors.yaml"
    vectors.write_text(vectors.read_text().replace("frequency: 50.0", "frequency: 51.0"))
    (site / "lorawan" / "notes.txt").write_text("not a driver")
    result = runner.invoke(app, ["drivers", "check", str(site), str(site / "lorawan" / "notes.txt")])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    failures = [line for line in lines if ": ok: " not in line]
    assert len(failures) == 5, lines
    assert any(line.startswith(f"{codec}: frames.0.channels.2.fields.0.tipe: unknown key") for line in failures)
    assert any(line.startswith(f"{broken_py}: line 3: Python syntax error") for line in failures)
    assert any(line.startswith(f"{site / 'lorawan' / 'acme_probe.vectors.yaml'}: (file): no vectors file; write")
               for line in failures)
    assert any(line.startswith(f"{vectors}: vectors[0] (balanced load on phase 1): frequency: decoded 50.0,"
                               " expected 51.0") for line in failures)
    assert any("notes.txt: (file): no driver here" in line for line in failures)


def test_list_shows_which_file_wins_and_each_domain(tmp_path: Path) -> None:
    site = _site_dir(tmp_path)
    bundled = Path(__file__).resolve().parents[2] / "drivers" / "lorawan"
    for name in ("milesight_em310_udl.codec.yaml", "milesight_em310_udl.vectors.yaml"):
        shutil.copy(bundled / name, site / "lorawan" / name)
    (site / "lorawan" / "broken.codec.yaml").write_text("table_codec: 1\nmodel: x\n")
    config = tmp_path / "site.toml"
    config.write_text(f'gateway_id = "gw"\n[site]\ncommune = "Esternay"\nlatitude = 48.7\nlongitude = 3.5\n'
                      f'[store]\npath = "{tmp_path / "store.db"}"\n[drivers]\npaths = ["{site}"]\n')
    result = runner.invoke(app, ["drivers", "list", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["drivers"]
    by = {(r["name"], r["source"]): r for r in rows}
    assert by[("milesight_em310_udl", str(site))]["status"] == "in use, overrides bundled"
    assert by[("milesight_em310_udl", "bundled")]["status"] == f"overridden by {site}"
    assert by[("milesight_em300_th", str(site))]["domain"] == "environment"
    assert by[("eastron_sdm630", str(site))]["kind"] == "modbus"
    assert not by[("broken", str(site))]["ok"] and "uplink_fports: is missing" in " ".join(
        by[("broken", str(site))]["problems"])
    assert all(r["domain"] for r in rows if r["kind"] == "lorawan" and r["source"] == "bundled")
    text = runner.invoke(app, ["drivers", "list", "--config", str(config)])
    assert "UNUSABLE" in text.stdout and "environment" in text.stdout


def test_a_device_whose_site_codec_is_broken_is_unusable_and_its_uplinks_kept(tmp_path: Path) -> None:
    site = _site_dir(tmp_path)
    codec = site / "lorawan" / "milesight_em300_th.codec.yaml"
    codec.write_text(codec.read_text().replace("scale: 0.1, round: 1,", "scale: 0.1, round: 1, rounded: 2,"))
    catalog = Catalog([site])
    devices = [LorawanDeviceConfig.model_validate({"driver": "lorawan", "name": name, "dev_eui": eui, "codec": codec},
                                                  context={"catalog": catalog})
               for name, eui, codec in (("th-1", "24e124136b502218", "milesight_em300_th"),
                                        ("bac-1", "24e124136b502217", "milesight_em310_udl"))]
    ingest = EventIntake(devices, catalog, SystemClock(assume_synced=True), "json")
    (event,) = ingest.unusable_events()
    assert isinstance(event, Event) and event.kind == "device_unusable" and event.device == "th-1"
    assert "rounded: unknown key" in event.message
    bad = ingest.handle(event_topic("24e124136b502218", "up"),
                        json.dumps(uplink_event("24e124136b502218", "01755c", f_cnt=1, f_port=85)).encode())
    kinds = [r.kind for r in bad.records if isinstance(r, Event)]
    assert kinds == ["uplink_undecodable"]
    assert "lorawan.payload" in {getattr(r, "point", None) for r in bad.records}
    good = ingest.handle(event_topic("24e124136b502217", "up"),
                         json.dumps(uplink_event("24e124136b502217", "01755c", f_cnt=1, f_port=85)).encode())
    assert {getattr(r, "point", None): getattr(r, "value", None) for r in good.records}["battery"] == 92
    status = {s["device"]: s for s in (state.status() for state in ingest.table.all())}
    assert status["th-1"]["usable"] is False and "rounded" in str(status["th-1"]["problem"])
    assert status["bac-1"]["usable"] is True


def test_a_python_codec_anyone_could_write_is_not_run(tmp_path: Path) -> None:
    site = tmp_path / "drivers"
    (site / "lorawan").mkdir(parents=True)
    codec = site / "lorawan" / "acme.py"
    codec.write_text("raise SystemExit('ran')\n")
    (site / "lorawan").chmod(0o777)
    result = runner.invoke(app, ["drivers", "check", str(site)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{codec}: (file): not loaded:") and "writable by anyone" in result.stdout
    assert "ran" not in result.output


def test_config_check_warns_of_a_driver_directory_that_does_not_exist(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(f'gateway_id = "gw"\n[site]\ncommune = "Esternay"\nlatitude = 48.7\nlongitude = 3.5\n'
                      f'[store]\npath = "{tmp_path / "store.db"}"\n[drivers]\npaths = ["{tmp_path / "drivres"}"]\n')
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 0
    assert f"drivers.paths: {tmp_path / 'drivres'} does not exist" in result.output
