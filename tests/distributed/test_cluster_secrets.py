"""Secrets and worker logs on the cluster path: to the run's log, masked; never the terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cluster import acmerun
from tests.support.credentials import LAB_PASSWORD

pytest.importorskip("distributed", reason="Dask distributed is not installed")

LEAKY = Path(__file__).parent.parent / "reliability" / "runbooks" / "leaky.yml"


def test_workers_log_to_the_runs_log_masked_and_nothing_to_the_terminal(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab("--site", "earth", "--leaves", "2")
    run = acmerun(
        str(LEAKY),
        "--cluster",
        "local:2",
        "--report",
        "r.json",
        "--log-file",
        "run.log",
        url=url,
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == ""
    assert "netops/" not in run.stdout
    log = (tmp_path / "run.log").read_text()
    assert "login to edge00.earth as netops/********" in log
    assert LAB_PASSWORD not in log
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["hosts"]) == 8
