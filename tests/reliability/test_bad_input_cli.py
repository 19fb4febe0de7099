"""Bad input through the real ``python -m acmerun`` process: located lines, one clear line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import processes
from tests.support.fuzz import damaged_texts, mutated_runbooks

RUNBOOK = Path(__file__).parent / "runbooks" / "dead.yml"


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.one_of(mutated_runbooks().map(str.encode), damaged_texts()))
def test_a_broken_runbook_is_exit_4_with_located_lines(raw: bytes, tmp_path: Path) -> None:
    runbook = tmp_path / "fuzzed.yml"
    runbook.write_bytes(raw)
    env = processes.environment()
    run = processes.run_acmerun(str(runbook), "--list-steps", env=env, cwd=tmp_path, timeout=60)
    assert "Traceback" not in run.stderr + run.stdout
    if run.returncode == 0:
        return
    assert run.returncode == 4, run.stderr
    *errors, summary = run.stderr.splitlines()
    assert errors and summary.startswith("acmerun: error: runbook invalid (")
    for line in errors:
        assert re.match(rf"{re.escape(str(runbook))}:\d+:\d+: ", line), line


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-e", "@{dir}"], 5, "-e '@{dir}': cannot read {dir}: Is a directory"),
        (["-e", "@{binary}"], 5, "-e '@{binary}': {binary} is not UTF-8 text"),
        (["-e", "{{a: ["], 5, "-e '{{a: [': "),
        (["-e", "1x=2"], 5, "-e '1x=2': "),
        (["--lab", "--limit", "@{dir}"], 5, "--limit @{dir}: cannot read it: Is a directory"),
        (["--lab", "--limit", "!"], 5, "--limit has an empty pattern after '!' or '&'"),
        (["--lab", "--limit", ""], 5, "--limit is empty"),
        (["--config", "{dir}"], 5, ""),
        (["--config", "{binary}"], 5, ""),
    ],
    ids=[
        "e-dir",
        "e-binary",
        "e-broken",
        "e-name",
        "limit-dir",
        "limit-bang",
        "limit-empty",
        "config-dir",
        "config-binary",
    ],
)
def test_bad_options_are_one_clear_line(
    args: list[str], code: int, message: str, tmp_path: Path
) -> None:
    names = {"dir": str(tmp_path / "a-folder"), "binary": str(tmp_path / "bytes.yml")}
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "bytes.yml").write_bytes(b"a: \xff\xfe\n")
    argv = [a.format(**names) for a in args]
    run = processes.run_acmerun(
        str(RUNBOOK), *argv, env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert run.returncode == code, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("acmerun: error: " + message.format(**names)), line
    assert len(run.stdout.splitlines()) <= 1  # at most the target line: no host was run


def test_an_unreadable_runbook_is_one_clear_line(tmp_path: Path) -> None:
    folder = tmp_path / "folder.yml"
    folder.mkdir()
    run = processes.run_acmerun(
        "validate", str(tmp_path), env=processes.environment(), cwd=tmp_path
    )
    assert run.returncode == 5
    assert run.stderr == f"acmerun: error: no runbook (*.yml, *.yaml) in {tmp_path}\n"
    link = tmp_path / "gone.yml"
    link.symlink_to(tmp_path / "nowhere.yml")
    run = processes.run_acmerun(str(link), env=processes.environment(), cwd=tmp_path)
    assert run.returncode == 5
    (line,) = run.stderr.splitlines()
    assert line.startswith("acmerun: error: ") and "gone.yml" in line and "does not exist" in line
