"""The authentication-failure limit on a cluster: the driver counts refusals over all shards."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import acmerun, write_runbook
from tests.support.credentials import WRONG_PASSWORD

pytest.importorskip("distributed", reason="Dask distributed is not installed")

RUNBOOK = """\
name: version
inventory:
  plugin: ACMEInventory
strategy:
  workers: 1
steps:
  - name: version
    task: acmeos.get_version
"""
SITES = ("earth", "mars", "venus", "pluto")


def refused_logins(lab_url: str) -> int:
    with urllib.request.urlopen(f"{lab_url}/lab/devices", timeout=10) as answer:
        devices: dict[str, Any] = json.load(answer)
    return sum(int(d["failed_logins"]) for d in devices.values())


def test_a_wrong_password_on_a_cluster_stops_every_shard_after_the_limit(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab(*(o for site in SITES for o in ("--site", site)), "--leaves", "4")
    runbook = write_runbook(tmp_path, RUNBOOK)
    run = acmerun(
        str(runbook),
        "--cluster",
        "local:2",
        "--report",
        "report.json",
        url=url,
        cwd=tmp_path,
        timeout=120,
        ACMEOS_PASSWORD=WRONG_PASSWORD,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    hosts = json.loads((tmp_path / "report.json").read_text())["hosts"]
    assert len(hosts) == 10 * len(SITES)
    failed = [n for n, h in hosts.items() if h["status"] == "failed"]
    skipped = [h for h in hosts.values() if h["status"] == "skipped"]
    assert len(failed) + len(skipped) == len(hosts)
    # two shards in flight, one host at a time each; each shard's runner stops at 3 too
    assert 3 <= len(failed) <= 2 * 3, failed
    assert refused_logins(url) == len(failed)
    assert {h["not_run"]["kind"] for h in skipped} == {"auth_limit"}
    assert all("authentication failures (auth_failure_limit 3" in h["error"] for h in skipped)
    shown = [line for line in run.stdout.splitlines() if "refused the credentials" in line]
    assert len(shown) == 1, run.stdout
    assert shown[0].endswith(
        "no new host started; check user 'netops' "
        "(username from $ACMEOS_USERNAME, password from $ACMEOS_PASSWORD)"
    )
