"""docs/reports.md against real runs: the JSON example's keys and target line, the recap's
unreachable host and the host its group held back."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from acmerun.session.runid import is_run_id
from tests.support.processes import REPO, environment, run_acmerun

DOC = REPO / "docs" / "reports.md"


def test_the_json_example_matches_a_real_report(tmp_path: Path) -> None:
    block = re.search(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert block is not None
    example = json.loads(block.group(1))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ACMERUN_STATE_DIR", "XDG_STATE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(REPO))
    report = tmp_path / "report.json"
    args = ["--lab", "runbooks/upgrade-earth.yml", "--report", str(report)]
    run = run_acmerun(*args, env=env, cwd=REPO, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    real = json.loads(report.read_text(encoding="utf-8"))
    assert sorted(example) == sorted(real)
    assert example["target"] == real["target"]
    assert is_run_id(real["run_id"]) and is_run_id(example["run_id"])


def test_the_recap_example_shows_an_unreachable_host_as_a_real_run_does(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"## Terminal recap\n\n```\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    shown = [" ".join(line.split()) for line in block.group(1).splitlines()]
    lab = make_lab(sites=["earth"], leaves=4, dead=["edge00.*"])
    run = run_acmerun("runbooks/upgrade-earth.yml", env=environment(lab.url), cwd=REPO, timeout=300)
    assert run.returncode == 3, run.stderr
    real = [" ".join(line.split()) for line in run.stdout.splitlines()]
    for line in shown:
        if line.startswith(("edge00.earth", "edge01.earth")):
            assert line in real, (line, real)


def _labels(line: str) -> list[str]:
    return re.findall(r"(\w+)=\d+", line)


def test_the_recap_example_has_the_labels_of_a_real_recap(tmp_path: Path) -> None:
    block = re.search(r"## Terminal recap\n\n```\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block is not None
    example = block.group(1).splitlines()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ACMERUN_STATE_DIR", "XDG_STATE_HOME")}
    env.update(HOME=str(home), PYTHONPATH=str(REPO))
    run = run_acmerun("--lab", "runbooks/upgrade-earth.yml", env=env, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr
    real = run.stdout.splitlines()
    host_line = next(line for line in real if line.startswith("edge00.earth "))
    assert _labels(host_line) == _labels(example[1])
    totals = next(line for line in real if line.startswith("hosts: "))
    (example_totals,) = [line for line in example if line.startswith("hosts: ")]
    assert _labels(totals) == _labels(example_totals)
    assert [line.split(" ")[0] for line in real if line.endswith("***")] == [
        line.split(" ")[0]
        for line in example
        if line.endswith("***") and "SKIPPED" not in line and "FAILURES" not in line
    ]
