"""``edge-agent report``: plain errors for bad input, and matplotlib kept out of everything but ``--chart``."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge_agent.cli.main import app
from edge_agent.reports.wording import Wording
from tests.reports.support import commit, meter, write_site


@pytest.fixture
def site(tmp_path: Path) -> Path:
    config = write_site(tmp_path)
    commit(config, [meter(1_794_300_000.0, 1.0)])
    return tmp_path / "site.toml"


@pytest.mark.parametrize(("args", "words"), [
    (["energy", "--from", "2026-11-10", "--to", "2026-11-01"], "--to must not be before --from"),
    (["waste", "--from", "10/11/2026", "--to", "2026-11-10"], "'10/11/2026' is not a date; write YYYY-MM-DD"),
    (["energy", "--from", "2026-11-01", "--to", "2026-11-02", "--group", "rue-x"],
     "no lighting group rue-x in this report; lighting groups: rue, eglise"),
    (["mobility", "--from", "2026-11-01", "--to", "2026-11-02", "--device", "nothing"], "no counter nothing"),
    (["energy", "--from", "2026-11-01", "--to", "2026-11-02", "--chart", "chart.pdf"], "must end in .png or .svg"),
    (["energy", "--from", "2020-01-01", "--to", "2026-11-02"], "at most 400 days"),
])
def test_bad_input_is_a_plain_sentence(site: Path, args: list[str], words: str) -> None:
    result = CliRunner().invoke(app, ["report", *args, "-c", str(site)])
    assert result.exit_code == 1 and words in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_no_store_yet_is_a_plain_sentence(tmp_path: Path) -> None:
    write_site(tmp_path)
    result = CliRunner().invoke(app, ["report", "waste", "--from", "2026-11-01", "--to", "2026-11-01", "-c",
                                      str(tmp_path / "site.toml")])
    assert result.exit_code == 1 and "there is no store at" in result.output


def test_neither_the_daemon_nor_the_other_commands_import_matplotlib() -> None:
    code = ("import sys, edge_agent.agent, edge_agent.cli.main, edge_agent.cli.report_cmd,"
            " edge_agent.reports.report_service;"
            " print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_a_chart_without_matplotlib_installed_says_how_to_get_it(site: Path) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None; sys.argv = ['edge-agent', 'report', 'energy', '--from',"
            f" '2026-11-01', '--to', '2026-11-02', '-c', '{site}', '--chart', 'x.png'];"
            " from edge_agent.cli.main import main; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "pip install 'edge-agent[reports]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_the_reports_write_numbers_and_dates_as_each_language_does() -> None:
    fr, en = Wording("fr"), Wording("en")
    assert (fr.num(2169.25), en.num(2169.25), fr.num(None), fr.num(3, unit=" %")) == ("2 169,2", "2 169.2", "-",
                                                                                      "3 %")
    assert (fr.pct(0.8145), en.pct(0.8145, 1), fr.factor(0.069)) == ("81 %", "81.5 %", "0,069")
    assert (fr.span("2026-10-01", "2026-10-31"), en.span("2026-10-01", "2026-10-31")) == (
        "du 01/10/2026 au 31/10/2026", "2026-10-01 to 2026-10-31")
    assert (fr.month("2026-10"), en.month("2026-02"), fr.short_day(date(2026, 8, 1))) == (
        "octobre 2026", "February 2026", "01 août")
    assert (fr.nights(1), fr.nights(31), fr.issue("reset"), fr.issue("new_kind"), fr.flow("in")) == (
        "1 nuit", "31 nuits", "remis à zéro", "new_kind", "entrées")
    with pytest.raises(ValueError, match="not a language of the reports"):
        Wording("de")
