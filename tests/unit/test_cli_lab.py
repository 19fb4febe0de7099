"""``acmerun lab serve`` option parsing, and the cost of importing the command."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from acmerun.cli.lab import lab, parse_latency


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5:20", (5.0, 20.0)), ("10", (10.0, 10.0)), ("0.5:1.5", (0.5, 1.5)), ("0:0", (0.0, 0.0))],
)
def test_latency_is_min_max_or_one_number(text: str, expected: tuple[float, float]) -> None:
    assert parse_latency(text) == expected


@pytest.mark.parametrize("text", ["", "5:", ":5", "5:10:20", "fast", "5-10"])
def test_malformed_latency_is_refused(text: str) -> None:
    with pytest.raises(click.BadParameter, match="is not MIN:MAX milliseconds"):
        parse_latency(text)


def test_help_lists_every_documented_option() -> None:
    result = CliRunner().invoke(lab, ["serve", "--help"])
    assert result.exit_code == 0
    for option in (
        "--sites",
        "--leaves",
        "--port",
        "--host",
        "--state",
        "--seed",
        "--latency-ms",
        "--error-rate",
        "--dead",
        "--slow",
        "--stuck",
        "--install-failure-rate",
        "--install-seconds",
        "--reboot-seconds",
        "--username",
        "--password",
        "ACMEOS_LAB_PASSWORD",
    ):
        assert option in result.output
    assert "acme-factory" not in result.output


def test_importing_the_command_does_not_import_the_lab_machinery() -> None:
    code = (
        "import sys, acmerun.cli.lab; "
        "print(sorted(m for m in ('aiohttp', 'acmerun.lab.server') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
