"""``acmerun validate`` as a real process: YAML 1.1-only values, numbers, unknown filters.

Exit 4, one located line per refused value on stdout, the summary on stderr, no
traceback, the file untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import processes

CASES = {
    "yaml-1.1": (
        "name: t\nvars:\n  a: yes\n  b: 1:30\n  c: 0755\n  d: 0o755\nsteps:\n"
        "  - task: acmeos.get_version\n    ignore_errors: off\n",
        [
            "3:6: vars.a: yes is a boolean in YAML 1.1 but a string in YAML 1.2: write true",
            "4:6: vars.b: 1:30 is a base-60 number in YAML 1.1",
            "5:6: vars.c: 0755 is octal in YAML 1.1 but decimal in YAML 1.2: write 0o755",
            "9:20: steps[0].ignore_errors: off is a boolean in YAML 1.1",
        ],
    ),
    "numbers": (
        "name: t\nstrategy:\n  workers: 4.0\n  max_fail_percentage: .nan\nsteps:\n"
        "  - task: acmeos.get_version\n    retries: 2.0\n    delay: .inf\n    backoff: 1e308\n",
        [
            "3:12: strategy.workers: 4.0 is not an integer: write 4",
            "4:24: strategy.max_fail_percentage: .nan is not a finite number",
            "7:14: steps[0].retries: 2.0 is not an integer: write 2",
            "8:12: steps[0].delay: .inf is not a finite number",
            "9:14: steps[0].backoff: 1e308 is a number in YAML 1.2 but a string in YAML 1.1",
        ],
    ),
    "filters": (
        "name: t\nsteps:\n  - task: acmeos.get_version\n    when: x | nofilter\n"
        "    assert: x is defind\n",
        [
            "4:11: steps[0].when: unknown filter 'nofilter'",
            "5:13: steps[0].assert: unknown test 'defind' (did you mean 'defined'?)",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_refuses_each_value_at_its_place(case: str, tmp_path: Path) -> None:
    text, expected = CASES[case]
    runbook = tmp_path / "rb.yml"
    runbook.write_text(text)
    run = processes.run_acmerun(
        "validate", str(runbook), env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert run.returncode == 4, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    errors = run.stdout.splitlines()
    (summary,) = run.stderr.splitlines()
    assert summary == f"acmerun: error: {len(expected)} errors in 1 runbook checked"
    assert len(errors) == len(expected), errors
    for line, want in zip(errors, expected, strict=True):
        assert line.startswith(f"{runbook}:{want}"), line
    assert runbook.read_text() == text


TASKS = '''\
"""Tasks of the repository: importing this module leaves a mark."""
from pathlib import Path

Path("imported.mark").write_text("imported")


def touch(task, path: str, *, mode: int = 0o600):
    Path(path).write_text("touched")


async def later(task, when, **extra):
    pass


NOT_A_TASK = 42
'''

TASK_CASES = [
    (
        "mytasks:touch",
        "{path: x, mod: 1}",
        "task 'mytasks:touch' takes no argument 'mod' (did you mean 'mode'?)",
    ),
    ("mytasks:touch", "{mode: 1}", "task 'mytasks:touch' needs the argument 'path'"),
    ("mytasks:tuch", "{path: x}", "module 'mytasks' has no task 'tuch' (did you mean 'touch'?)"),
    ("mytasks:NOT_A_TASK", "{}", "'mytasks:NOT_A_TASK' is not a function"),
    ("mytasks:later", "{}", "task 'mytasks:later' needs the argument 'when'"),
    ("nosuch.tasks:x", "{}", "cannot import 'nosuch.tasks' for task 'nosuch.tasks:x': "),
    ("mytasks.sub:x", "{}", "'mytasks' is not a package"),
]


@pytest.mark.parametrize(("task", "args", "message"), TASK_CASES)
def test_validate_reads_a_repository_task_without_running_its_module(
    task: str, args: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / "mytasks.py").write_text(TASKS)
    runbook = tmp_path / "rb.yml"
    runbook.write_text(f"name: t\nsteps:\n  - task: {task}\n    args: {args}\n")
    run = processes.run_acmerun(
        "validate", str(runbook), env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert run.returncode == 4, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    (line,) = run.stdout.splitlines()
    assert line.startswith(f"{runbook}:") and message in line, line
    assert not (tmp_path / "imported.mark").exists()
    assert not (tmp_path / "x").exists()


def test_validate_accepts_a_repository_task_it_does_not_run(tmp_path: Path) -> None:
    (tmp_path / "mytasks.py").write_text(TASKS)
    runbook = tmp_path / "rb.yml"
    runbook.write_text("name: t\nsteps:\n  - task: mytasks:touch\n    args: {path: x}\n")
    run = processes.run_acmerun(
        "validate", str(runbook), env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert not (tmp_path / "imported.mark").exists()
