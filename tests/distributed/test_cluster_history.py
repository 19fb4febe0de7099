"""A run on a Dask cluster is recorded in the history by its driver, as a local run is."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.cluster import AUDIT, acmerun, report_hosts, write_runbook
from tests.support.credentials import LAB_PASSWORD

pytest.importorskip("distributed", reason="Dask distributed is not installed")


def test_a_cluster_run_is_recorded_and_its_failed_hosts_rerun(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab("--site", "earth", "--site", "mars", "--leaves", "4", "--dead", "leaf03.*")
    runbook = write_runbook(tmp_path, AUDIT)
    first = acmerun(
        str(runbook),
        "--cluster",
        "local:2",
        "--report",
        "all.json",
        url=url,
        cwd=tmp_path,
        timeout=300,
    )
    assert first.returncode == 3, first.stdout + first.stderr
    run_id = json.loads((tmp_path / "all.json").read_text())["run_id"]
    listed = processes.run_acmerun("history", "--json", env=processes.environment(), cwd=tmp_path)
    (entry,) = json.loads(listed.stdout)
    assert entry["run_id"] == run_id and entry["exit_code"] == 3
    assert entry["options"]["cluster"] == "local:2"
    assert entry["totals"]["unreachable"] == 2 and sum(entry["totals"].values()) == 20

    again = acmerun(
        str(runbook), "--cluster", "local:2", "--rerun-failed", "--report", "again.json",
        url=url, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert again.returncode == 3, again.stdout + again.stderr
    assert set(report_hosts(tmp_path / "again.json")) == {"leaf03.earth", "leaf03.mars"}
    history = Path(os.environ["ACMERUN_STATE_DIR"]) / "history.sqlite"
    assert LAB_PASSWORD.encode() not in history.read_bytes()
