"""A cluster run's events and journal: every host starts and ends in them, every line valid."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.test_journal_resume import check_lines, events_of, journals
from tests.support.cluster import acmerun, write_runbook

pytest.importorskip("distributed", reason="Dask distributed is not installed")

AUDIT = """\
name: audit two sites
inventory:
  plugin: ACMEInventory
steps:
  - name: version
    task: acmeos.get_version
"""


def test_a_cluster_run_journals_every_host_as_its_result_comes_back(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    lab = start_lab("--site", "earth", "--site", "mars", "--leaves", "4", "--dead", "leaf03.mars")
    runbook = write_runbook(tmp_path, AUDIT)
    run = acmerun(
        str(runbook), "--cluster", "local:2", "--events", "ev.jsonl", url=lab, cwd=tmp_path
    )
    assert run.returncode == 3, run.stderr
    [journal] = journals()
    events = events_of(tmp_path / "ev.jsonl")
    assert events == events_of(journal)
    check_lines(events)
    kinds = Counter(e["event"] for e in events)
    assert kinds["host_start"] == kinds["host_end"] == 20
    ends = {e["host"]: e["status"] for e in events if e["event"] == "host_end"}
    assert ends["leaf03.mars"] == "unreachable"
    assert (events[-1]["event"], events[-1]["exit_code"]) == ("run_end", 3)
