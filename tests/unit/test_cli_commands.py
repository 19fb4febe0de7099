"""acmerun validate, schema, --list-steps and --list-hosts, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from acmerun.cli import cli
from acmerun.errors import ExitCode

DATA = Path(__file__).resolve().parents[1] / "data"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_schema_prints_a_valid_json_schema_that_accepts_the_test_runbooks() -> None:
    import yaml

    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("audit.yml", "upgrade.yml"):
        validator.validate(yaml.safe_load((DATA / name).read_text()))


def test_validate_valid_files_and_folders(tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for name in ("audit.yml", "upgrade.yml"):
        (folder / name).write_text((DATA / name).read_text())
    (folder / "notes.txt").write_text("not a runbook")
    result = invoke("validate", str(folder))
    assert (result.exit_code, result.stdout) == (0, "2 runbooks valid\n")
    result = invoke("validate", str(folder / "audit.yml"))
    assert (result.exit_code, result.stdout) == (0, "1 runbook valid\n")


def test_validate_prints_every_error_and_exits_4(tmp_path: Path) -> None:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "ok.yml").write_text((DATA / "audit.yml").read_text())
    broken = folder / "broken.yml"
    broken.write_text((DATA / "invalid.yml").read_text())
    result = invoke("validate", str(folder))
    assert result.exit_code == ExitCode.RUNBOOK_INVALID
    assert result.stdout.splitlines() == [
        f"{broken}:5:21: steps[0].args.version: 5 is not of type 'string'",
        f"{broken}:8:5: steps[1]: unknown key 'whn' (did you mean 'when'?)",
    ]
    assert result.stderr == "acmerun: error: 2 errors in 2 runbooks checked\n"


def test_validate_missing_path_exits_5(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "nope"))
    assert result.exit_code == ExitCode.BAD_OPTIONS
    assert result.stderr == f"acmerun: error: no such file or folder: {tmp_path / 'nope'}\n"


def test_validate_empty_folder_exits_5(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == ExitCode.BAD_OPTIONS
    assert "no runbook (*.yml, *.yaml) in" in result.stderr


def test_run_of_an_invalid_runbook_prints_every_error_and_exits_4() -> None:
    result = invoke(str(DATA / "invalid.yml"))
    assert result.exit_code == ExitCode.RUNBOOK_INVALID
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].endswith("steps[0].args.version: 5 is not of type 'string'")
    assert lines[1].endswith("steps[1]: unknown key 'whn' (did you mean 'when'?)")
    assert lines[2] == "acmerun: error: runbook invalid (2 errors)"


def test_list_steps_touches_nothing_and_honours_tags() -> None:
    # no inventory is configured: listing steps must not need one (nor start the embedded lab)
    result = invoke(str(DATA / "upgrade.yml"), "--list-steps")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "pre-check" in text and "upgrade" in text and "running version" in text
    result = invoke(str(DATA / "upgrade.yml"), "--list-steps", "--skip-tags", "checks")
    assert result.exit_code == 0, result.output
    assert "upgrade" in result.stdout
    assert "pre-check" not in result.stdout and "running version" not in result.stdout


def test_list_hosts_applies_the_limit(lab_env: Any) -> None:
    result = invoke(str(DATA / "audit.yml"), "--list-hosts")
    assert result.exit_code == 0, result.output
    hosts = result.stdout.splitlines()
    assert len(hosts) == 106 and hosts == sorted(hosts)
    result = invoke(str(DATA / "audit.yml"), "--list-hosts", "--limit", "edge*,spine0[0-1]*")
    assert result.stdout.splitlines() == [
        "edge00.earth",
        "edge01.earth",
        "spine00.earth",
        "spine01.earth",
    ]
    result = invoke(str(DATA / "audit.yml"), "--list-hosts", "--limit", "earth,!leaf*,!spine*")
    assert result.stdout.splitlines() == ["edge00.earth", "edge01.earth"]


def test_list_hosts_touches_no_device(lab_env: Any) -> None:
    before = {name: d.version for name, d in lab_env.devices().items()}
    invoke(str(DATA / "upgrade.yml"), "--list-hosts")
    assert lab_env.downtime() == {name: [] for name in before}
    assert {name: d.version for name, d in lab_env.devices().items()} == before


@pytest.mark.parametrize("option", ["--list-hosts", "--list-steps"])
def test_list_options_need_no_lock(option: str, tmp_path: Path, lab_env: Any) -> None:
    from acmerun.lock import RunbookLock

    with RunbookLock(DATA / "audit.yml"):
        result = invoke(str(DATA / "audit.yml"), option)
    assert result.exit_code == 0, result.output


def test_report_folder_that_cannot_be_written_exits_5_before_any_device(
    lab_env: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke(str(DATA / "upgrade.yml"), "--report", str(blocker / "run.json"))
    assert result.exit_code == ExitCode.BAD_OPTIONS
    assert result.stderr.startswith(f"acmerun: error: --report: cannot create {blocker}: ")
    assert all(not d for d in lab_env.downtime().values())


def test_report_folders_are_created(lab_env: Any, tmp_path: Path) -> None:
    result = invoke(
        str(DATA / "audit.yml"),
        "--report",
        str(tmp_path / "a" / "run.json"),
        "--junit",
        str(tmp_path / "b" / "run.xml"),
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "run.json").is_file() and (tmp_path / "b" / "run.xml").is_file()


def test_workers_precedence(tmp_path: Path) -> None:
    from acmerun.config import Config
    from acmerun.runbook.loader import load_runbook
    from acmerun.session import RunOptions
    from acmerun.session.prepare import runner_settings

    def workers(runbook: Path, option: int | None, config: int | None) -> int:
        loaded = load_runbook(runbook)
        options = RunOptions(runbook=runbook, workers=option, config=Config(workers=config))
        return runner_settings(loaded, options).workers

    plain = tmp_path / "plain.yml"
    plain.write_text("name: plain\nsteps: [{task: acmeos.get_version}]\n")
    assert workers(DATA / "upgrade.yml", 7, 9) == 7  # --workers
    assert workers(DATA / "upgrade.yml", None, 9) == 20  # the runbook's strategy.workers
    assert workers(plain, None, 9) == 9  # the config file
    assert workers(plain, None, None) == 50  # the default
