"""Bad canary, pause and gate values: exit 4, one line each at FILE:LINE:COLUMN, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import processes

HEAD = "name: rollout\n"
STEPS = "steps:\n  - task: acmeos.get_version\n    register: ver\n"


@pytest.mark.parametrize(
    ("strategy", "error"),
    [
        (
            '  canary: "150%"\n',
            "rb.yml:3:11: strategy.canary: '150%' is not a canary: use a number of hosts (1), "
            "a percentage ('2%') or host patterns ('leaf00.earth')",
        ),
        ("  canary: 0\n", "rb.yml:3:11: strategy.canary: 0 is not a canary: use a number"),
        (
            '  pause: "10 minutes"\n',
            "rb.yml:3:10: strategy.pause: '10 minutes' is not a pause: use seconds (30) "
            "or a duration like '90s', '10m' or '1h'",
        ),
        ("  pause: -5\n", "rb.yml:3:10: strategy.pause: -5 is not a pause"),
        ("  gate: check\n", "rb.yml:3:9: strategy.gate: 'check' is not of type 'array'"),
        ("  gate: []\n", "rb.yml:3:9: strategy.gate: [] should be non-empty"),
        (
            "  gate_on: each\n",
            "rb.yml:3:12: strategy.gate_on: 'each' is not one of 'batch', 'once'",
        ),
        (
            "  gate:\n    - task: acmeos.get_neigbors\n",
            "rb.yml:4:13: strategy.gate[0].task: unknown task 'acmeos.get_neigbors' "
            "(did you mean 'acmeos.get_neighbors'?)",
        ),
        (
            # the gate runs on its own: what the steps register is not defined there
            "  gate:\n    - task: acmeos.get_cpu_ram\n      assert: ver.major > 4\n",
            "rb.yml:5:15: strategy.gate[0].assert: 'ver' is not defined",
        ),
        (
            "  gate:\n    - include: checks/converged.yml\n",
            "rb.yml:4:16: strategy.gate[0].include: a gate's steps are written in the runbook: "
            "'include' is not supported there",
        ),
        (
            "  max_unhealthy_percent: 0\n",
            "rb.yml:3:26: strategy.max_unhealthy_percent: 0 is too small: it must be more than 0",
        ),
        (
            "  max_failed_in_batch: -1\n",
            "rb.yml:3:24: strategy.max_failed_in_batch: -1 is less than the smallest allowed, 0",
        ),
    ],
)
def test_a_bad_rollout_value_is_exit_4_at_its_place(
    strategy: str, error: str, tmp_path: Path
) -> None:
    (tmp_path / "rb.yml").write_text(HEAD + "strategy:\n" + strategy + STEPS)
    run = processes.run_acmerun("rb.yml", env=processes.environment(), cwd=tmp_path)
    assert run.returncode == 4
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("rb.yml:")]
    assert len(lines) == 1 and lines[0].startswith(error), run.stderr
