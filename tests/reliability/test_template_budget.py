"""Generated hostile templates end in bounded time and memory (a process under a memory limit)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from tests.support import processes

#: the address space the rendering process may use: far below what the templates ask for
MEMORY_LIMIT = 1024 * 1024 * 1024
EXAMPLES = 300


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_hostile_templates_end_in_bounded_time_and_memory() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.reliability.hostile_templates", str(EXAMPLES)],
        env=processes.environment(),
        cwd=processes.REPO,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_limit_memory,
    )
    processes.record("stdout of hostile_templates", run.stdout)
    processes.record("stderr of hostile_templates", run.stderr)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.splitlines()[-1])
    outcomes = found["outcomes"]
    assert sum(outcomes.values()) == EXAMPLES
    assert "MemoryError" not in outcomes
    assert outcomes.get("budget", 0) >= EXAMPLES // 5, outcomes  # the generator is hostile
    assert outcomes.get("value", 0) > 0, outcomes
    assert found["peak_rss_mib"] < 400, found
