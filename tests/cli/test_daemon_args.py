"""``edge-agent run``'s own reading of its two options (edge_agent/cli/daemon.py), without argparse."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.cli.daemon import Options, UsageError, main, parse


@pytest.mark.parametrize("argv", [["--config", "/etc/site.toml"], ["-c", "/etc/site.toml"],
                                  ["--config=/etc/site.toml"], ["-c/etc/site.toml"]])
def test_the_config_is_read_in_each_spelling(argv: list[str]) -> None:
    assert parse(argv) == Options(Path("/etc/site.toml"), "auto")


def test_the_log_format_is_one_of_three() -> None:
    assert parse(["--log-format", "json", "-c", "s.toml"]) == Options(Path("s.toml"), "json")
    assert parse(["-c", "s.toml", "--log-format=console"]) == Options(Path("s.toml"), "console")
    with pytest.raises(UsageError, match="invalid choice: 'xml'"):
        parse(["-c", "s.toml", "--log-format", "xml"])


@pytest.mark.parametrize(("argv", "message"), [
    ([], "required: --config"), (["--config"], "expected one argument"), (["-c", "s.toml", "extra"], "extra"),
    (["-c", "s.toml", "--verbose"], "unrecognized argument: --verbose"),
])
def test_a_command_line_it_cannot_read_exits_2_with_the_usage(argv: list[str], message: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: edge-agent run --config PATH") and message in err
