"""The runbook reference's examples of the step keywords: valid, and run against a lab."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from acmerun.runbook import load_runbook
from tests.support import processes

DOC = (Path(__file__).parents[2] / "docs" / "runbook-reference.md").read_text()
SECTIONS = (
    "### Register",
    "### Rescue and always",
    "### Until, loop, changed_when, failed_when",
    "### Include",
    "### run_once",
)
HEAD = (
    "name: example\n"
    "inventory: {options: {filter_sites: [earth]}, filter: {dev_type: leaf}}\n"
    "vars: {target_version: '5.4.1', versions: ['5.4.0', '5.4.1']}\n"
)


def example(section: str) -> str:
    text = DOC[DOC.index(section) :]
    found = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert found is not None, section
    return found.group(1)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[processes.LabProcess]:
    started = processes.start_lab(cwd=tmp_path, leaves=2)
    yield started
    started.stop()


@pytest.mark.parametrize("section", SECTIONS)
def test_every_example_is_a_valid_runbook(section: str, tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "resources.yml").write_text("- task: acmeos.get_cpu_ram\n")
    path = tmp_path / "rb.yml"
    path.write_text(HEAD + example(section))
    assert load_runbook(path).steps


@pytest.mark.parametrize(
    "section", ["### Register", "### Until, loop, changed_when, failed_when", "### run_once"]
)
def test_the_read_only_examples_run_against_a_lab(
    section: str, lab: processes.LabProcess, tmp_path: Path
) -> None:
    (tmp_path / "rb.yml").write_text(HEAD + example(section))
    run = processes.run_acmerun(
        "rb.yml", "--report", "run.json", env=processes.environment(lab.url), cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["totals"]["ok"] == 2
