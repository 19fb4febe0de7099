"""The login rate on a cluster: the shards at once share it, no second sees more."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cluster import acmerun, write_runbook

pytest.importorskip("distributed", reason="Dask distributed is not installed")

RATE = 10
RUNBOOK = f"""\
name: version
inventory:
  plugin: ACMEInventory
strategy:
  workers: 50
  connect_rate: {RATE}
steps:
  - name: version
    task: acmeos.get_version
"""
SITES = ("earth", "mars", "venus", "pluto")
#: 2 edge, 4 spine and 14 leaf devices a site
PER_SITE = 20


@pytest.mark.slow
def test_a_cluster_run_stays_under_the_rate_across_its_shards(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab(*(o for site in SITES for o in ("--site", site)), "--leaves", "14")
    runbook = write_runbook(tmp_path, RUNBOOK)
    run = acmerun(
        str(runbook),
        "--cluster",
        "local:3",
        "--report",
        "report.json",
        url=url,
        cwd=tmp_path,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["totals"]["ok"] == PER_SITE * len(SITES)
    with urllib.request.urlopen(f"{url}/lab/sessions", timeout=10) as answer:
        log = json.load(answer)
    per_second = [n for _, n in log["per_second"]]
    assert log["total"] == PER_SITE * len(SITES)
    # three shards at once, each at a third of the rate (3/s): never more than the rate
    assert max(per_second) <= RATE, per_second
    figures = report["login_rate"]
    assert figures["connect_rate"] == RATE
    assert figures["logins"] == PER_SITE * len(SITES) and figures["held"] > 0
