"""docs/rolling.md's canary rollout examples, run against a lab as the page gives them.

Only the soak is shortened (``pause: 10m`` becomes a fraction of a second).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import processes

DOC = (processes.REPO / "docs" / "rolling.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## Canary rollouts") : DOC.index("## What the reports say")]
EXAMPLES = re.findall(r"```yaml\n(.*?)```", SECTION, re.S)


def short_pause(text: str) -> str:
    return re.sub(r"^(\s*pause:) \S+", r"\1 0.2", text, flags=re.M)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Callable[..., processes.LabProcess]]:
    started: list[processes.LabProcess] = []

    def start(*options: str) -> processes.LabProcess:
        started.append(processes.start_lab(*options, "--reboot-seconds", "0.2", cwd=tmp_path))
        return started[-1]

    yield start
    processes.stop(started)


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize("number", range(len(EXAMPLES)))
def test_every_example_rolls_out_batch_by_batch(
    number: int, lab: Callable[..., processes.LabProcess], tmp_path: Path
) -> None:
    started = lab()
    (tmp_path / "rb.yml").write_text(short_pause(EXAMPLES[number]))
    run = processes.run_acmerun(
        "rb.yml", "--report", "r.json", env=processes.environment(started.url), cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    batches = report["batches"]
    assert batches[0]["canary"] and len(batches[0]["hosts"]) == 1
    assert all(b["gate"] == "passed" for b in batches)
    assert all(b["pause_ended"] is not None for b in batches[:-1])


@pytest.mark.parametrize("number", range(len(EXAMPLES)))
def test_every_example_stops_at_a_faulted_canary_as_the_page_says(
    number: int, lab: Callable[..., processes.LabProcess], tmp_path: Path
) -> None:
    started = lab("--post-upgrade-fault", "leaf00.earth")
    (tmp_path / "rb.yml").write_text(short_pause(EXAMPLES[number]))
    run = processes.run_acmerun(
        "rb.yml", "--report", "r.json", env=processes.environment(started.url), cwd=tmp_path
    )
    assert run.returncode == 2, run.stdout + run.stderr
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    prefix = "not started: the gate after batch 1 failed on leaf00.earth: neighbors established: "
    prefix += "until after 4 attempts: "
    assert prefix in " ".join(SECTION.split())  # the page says it word for word
    assert {h["error"][: len(prefix)] for n, h in hosts.items() if n != "leaf00.earth"} == {prefix}
