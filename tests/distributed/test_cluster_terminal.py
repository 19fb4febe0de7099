"""A cluster run on a real terminal: hosts' lines and the progress count as results come back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.cluster import write_runbook
from tests.support.gate import Gate
from tests.support.terminal import PtyProcess

pytest.importorskip("distributed", reason="Dask distributed is not installed")

RUNBOOK = """\
name: cluster live
inventory:
  plugin: ACMEInventory
strategy:
  workers: 2
steps:
  - name: version
    task: acmeos.get_version
"""


def test_hosts_lines_and_the_count_come_as_the_shards_results_come_back(
    start_lab: Callable[..., str], cluster: Any, tmp_path: Path
) -> None:
    url = start_lab("--site", "earth", "--site", "mars", "--leaves", "4", "--dead", "leaf00.earth")
    with Gate() as gate:
        # leaf03.earth waits at the gate: the earth shard is under way until the test opens it
        runbook = write_runbook(
            tmp_path, RUNBOOK + gate.step(when="inventory_hostname == 'leaf03.earth'")
        )
        run = PtyProcess(
            str(runbook),
            "--cluster",
            cluster.scheduler.address,
            env=processes.environment(url),
            cwd=tmp_path,
            columns=80,
        )
        try:
            gate.wait_for(1)
            # the unreachable host of the shard still running is printed, and counted
            failure = run.wait_for("unreachable: leaf00.earth | version | ")
            # a later frame counts it (the one drawn with the line may be the previous one)
            run.wait_for_match(r" [1-9]\d*/20 hosts .*\n.*in flight: [1-9]\d* hosts", failure)
            assert "RECAP" not in run.output
            gate.open()
            code = run.wait()
        finally:
            run.proc.kill()
    assert code == 3, run.output
    screen = run.screen()
    recap = screen.index(next(line for line in screen if line.startswith("RECAP: ")))
    failures = [line for line in screen[:recap] if line.startswith("unreachable: ")]
    assert len(failures) == 1 and failures[0].startswith("unreachable: leaf00.earth | version | ")
    assert any(line.startswith("cluster: ") for line in screen[:recap]), screen
    # the progress is gone before the recap: only whole lines are left above it
    assert not any(" ETA " in line or "in flight:" in line for line in screen), screen
    assert "Traceback" not in run.output
