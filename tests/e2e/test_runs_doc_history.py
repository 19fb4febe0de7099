"""docs/runs.md's History section: every command it shows, run as written against a lab.

The page's example id (``20261203T020000Z-3f9a1c2b``) stands for a run the test
made first; its sample line of ``acmerun history`` has the shape of the real one.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.processes import REPO

EXAMPLE_ID = "20261203T020000Z-3f9a1c2b"


def section() -> str:
    text = (REPO / "docs" / "runs.md").read_text(encoding="utf-8")
    found = re.search(r"^## History\n(.*?)^## ", text, re.DOTALL | re.MULTILINE)
    assert found is not None, "docs/runs.md has no History section"
    return found.group(1)


def commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", section(), re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


@pytest.fixture
def lab_url(tmp_path: Path) -> Iterator[str]:
    lab = processes.start_lab("--dead", "leaf01.earth", cwd=tmp_path, leaves=4)
    yield lab.url
    processes.stop([lab])


def test_every_history_example_runs_as_the_page_says(
    tmp_path: Path, lab_url: str, secret_scan: object
) -> None:
    (tmp_path / "runbooks").mkdir()
    shutil.copyfile(
        REPO / "runbooks" / "version-audit.yml", tmp_path / "runbooks" / "version-audit.yml"
    )
    env = processes.environment(lab_url)
    first = processes.run_acmerun(
        "runbooks/version-audit.yml", "--report", "first.json", env=env, cwd=tmp_path
    )
    assert first.returncode == 3, first.stdout + first.stderr
    run_id = json.loads((tmp_path / "first.json").read_text())["run_id"]

    examples = commands()
    assert len(examples) == 8, examples
    for example in examples:
        argv = shlex.split(example.replace(EXAMPLE_ID, run_id))
        assert argv[0] == "acmerun", example
        done = processes.run_acmerun(*argv[1:], env=env, cwd=tmp_path)
        expected = 3 if "--rerun-failed" in argv else 0  # leaf01 is dead, again
        assert done.returncode == expected, (example, done.stdout, done.stderr)
        assert done.stderr == "", (example, done.stderr)
    assert (tmp_path / "last-night.html").is_file()

    sample = re.search(r"```\n(\d{8}T\d{6}Z-[0-9a-f]{8}  .*)\n```", section())
    assert sample is not None
    listed = processes.run_acmerun("history", env=env, cwd=tmp_path).stdout.splitlines()
    line = sample.group(1).replace(EXAMPLE_ID, "RUN-ID")
    shape = re.sub(r"\d+", r"\\d+", re.escape(line)).replace(
        "RUN\\-ID", r"\d{8}T\d{6}Z-[0-9a-f]{8}"
    )
    assert re.fullmatch(shape, listed[-1]), (shape, listed[-1])
    reran = json.loads(processes.run_acmerun("history", "--json", env=env, cwd=tmp_path).stdout)
    assert [r["totals"]["unreachable"] for r in reran[:2]] == [1, 1]
    assert [sum(r["totals"].values()) for r in reran[:2]] == [1, 1]
