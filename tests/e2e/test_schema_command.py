"""``acmerun schema --output PATH`` writes the runbook JSON Schema an editor can use."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import REPO, environment, run_acmerun

SCHEMA = REPO / "acmerun" / "runbook" / "schema.json"


def test_schema_output_writes_the_runbook_schema(tmp_path: Path) -> None:
    target = tmp_path / "runbook.schema.json"
    run = run_acmerun("schema", "--output", str(target), env=environment(), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(
        SCHEMA.read_text(encoding="utf-8")
    )


def test_schema_output_to_a_missing_folder_is_one_error_line(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "runbook.schema.json"
    run = run_acmerun("schema", "--output", str(target), env=environment(), cwd=tmp_path)
    assert run.returncode == 5
    assert run.stderr.startswith("acmerun: error: cannot write ")
    assert len(run.stderr.splitlines()) == 1
    assert "Traceback" not in run.stderr
    assert not target.exists()


def test_schema_without_output_prints_it(tmp_path: Path) -> None:
    run = run_acmerun("schema", env=environment(), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == json.loads(SCHEMA.read_text(encoding="utf-8"))
