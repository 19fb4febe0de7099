"""The command line: argument handling, exit codes of bad options, the error boundary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from acmerun import __version__
from acmerun import session as run
from acmerun.cli import cli
from acmerun.errors import ExitCode
from tests.support.credentials import LAB_PASSWORD


def invoke(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(cli, list(args), **kwargs)


@pytest.fixture
def runbook(tmp_path: Path) -> Path:
    path = tmp_path / "rb.yml"
    path.write_text("name: x\nsteps: [{task: acmeos.get_version}]\n")
    return path


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == f"acmerun {__version__}\n"


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "validate", "schema", "lab"):
        assert f"\n  {command} " in result.output
    assert "7 runbook\n  locked" in result.output or "7 runbook locked" in result.output


def test_run_help_lists_the_run_options() -> None:
    result = invoke("run", "--help")
    assert result.exit_code == 0
    for option in (
        "--check",
        "--detailed-exitcode",
        "--limit",
        "--extra-vars",
        "--tags",
        "--skip-tags",
        "--workers",
        "--list-hosts",
        "--list-steps",
        "--report",
        "--report-dir",
        "--junit",
        "--quiet",
        "--verbose",
        "--log-file",
        "--config",
        "--no-color",
        "--wait-lock",
    ):
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "Invalid value for '-w' / '--workers': 0 is not in the range x>=1."),
        (["--bogus"], "No such option"),
        (["--wait-lock", "soon"], "Invalid value for '--wait-lock': 'soon' is not a valid float"),
        (["--detailed-exitcode"], "--detailed-exitcode only has a meaning with --check"),
        (["-e", "oops"], "-e 'oops': expected KEY=VALUE, @FILE or a JSON mapping"),
        (["--list-hosts", "--list-steps"], "--list-hosts and --list-steps cannot be used together"),
    ],
)
def test_bad_options_exit_5_with_one_clear_line(
    runbook: Path, args: list[str], message: str
) -> None:
    for command in ([str(runbook)], ["run", str(runbook)]):
        result = invoke(*command, *args)
        assert result.exit_code == ExitCode.BAD_OPTIONS, result.output
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("acmerun: error: ")
        assert message in lines[0]


def test_missing_runbook_exits_5(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nope.yml"))
    assert result.exit_code == ExitCode.BAD_OPTIONS
    assert "nope.yml' does not exist" in result.stderr


def test_no_arguments_shows_the_help_and_exits_5() -> None:
    result = invoke()
    assert result.exit_code == ExitCode.BAD_OPTIONS
    assert "Usage: acmerun" in result.stderr


def test_bad_config_exits_5_with_its_line(runbook: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("workers: many\n")
    result = invoke(str(runbook), "--config", str(config))
    assert result.exit_code == ExitCode.BAD_OPTIONS
    assert result.stderr == (
        f"acmerun: error: {config}:1:10: workers: expected a whole number from 1, got 'many'\n"
    )


def test_options_reach_the_run(runbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[run.RunOptions] = []

    def fake(options: run.RunOptions, **kwargs: Any) -> run.RunResult:
        seen.append(options)
        return run.RunResult(3)

    monkeypatch.setattr(run, "execute", fake)
    result = invoke(
        str(runbook),
        "--check",
        "--limit",
        "edge*",
        "-e",
        "a=1",
        "-e",
        "b=x",
        "-t",
        "pre,post",
        "--tags",
        "verify",
        "--skip-tags",
        "slow",
        "-w",
        "7",
        "--wait-lock",
        "2.5",
        "-q",
    )
    assert result.exit_code == 3
    (options,) = seen
    assert options.runbook == runbook and options.check and options.quiet
    assert options.limit == "edge*"
    assert dict(options.extra_vars) == {"a": 1, "b": "x"}
    assert options.tags == ("pre", "post", "verify")
    assert options.skip_tags == ("slow",)
    assert (options.workers, options.wait_lock) == (7, 2.5)


def test_unexpected_error_exits_250_with_a_crash_log_and_no_traceback(
    runbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)

    def broken(options: run.RunOptions, **kwargs: Any) -> run.RunResult:
        raise RuntimeError(f"bug while holding {LAB_PASSWORD}")

    monkeypatch.setattr(run, "execute", broken)
    result = invoke(str(runbook))
    assert result.exit_code == ExitCode.UNEXPECTED
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("acmerun: error: unexpected error (RuntimeError); the traceback is in ")
    log = Path(line.rsplit(" ", 1)[1])
    assert log.parent == Path(os.environ["ACMERUN_STATE_DIR"])
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: bug while holding ********" in text
    assert LAB_PASSWORD not in text


def test_keyboard_interrupt_outside_a_run_exits_99(
    runbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(options: run.RunOptions, **kwargs: Any) -> run.RunResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "execute", interrupted)
    result = invoke(str(runbook))
    assert result.exit_code == ExitCode.INTERRUPTED
    assert result.stderr.strip() == "acmerun: error: interrupted"


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from acmerun.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('nornir', 'rich', 'jinja2', 'aiohttp', 'jsonschema', 'urllib3')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines()[-1] == "HEAVY []"
