"""The production shape: ``dask scheduler`` and two ``dask worker`` processes, several labs.

The 40,000-device run of this shape is in ``bench/distributed.py``; here 2,000
devices keep the suite's time down.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.cluster import AUDIT, acmerun, report_hosts, write_runbook
from tests.support.dask_cluster import DaskCluster

pytest.importorskip("distributed", reason="Dask distributed is not installed")

UPGRADE = """\
name: upgrade
inventory:
  plugin: ACMEInventory
strategy:
  workers: 2
steps:
  - name: pre-check
    task: acmeos.get_cpu_ram
  - name: upgrade
    task: acmeos.upgrade_os
    args: {version: "9.0.1"}
    retries: 2
  - name: running version
    task: acmeos.get_version
    register: ver
    assert: ["ver.full_version == '9.0.1'"]
"""


def lab_get(url: str, path: str) -> Any:
    """``GET`` a lab's ``/lab/...`` endpoint (on its inventory port)."""
    base = url.split("/api/", 1)[0]
    with urllib.request.urlopen(base + path, timeout=10) as answer:
        return json.load(answer)


#: two runs of 2,000 hosts and a cluster to start: about a minute; room for a loaded machine
@pytest.mark.timeout(900)
def test_2000_devices_on_a_scheduler_and_two_workers_report_as_a_local_run(
    start_lab: Callable[..., str], dask_processes: Callable[..., DaskCluster], tmp_path: Path
) -> None:
    # two labs of 1,000 devices (2 sites x 500), the edge00 devices dead: one inventory
    labs = [
        start_lab("--site", f"{lab}a", "--site", f"{lab}b", "--leaves", "494", "--dead", "edge00.*")
        for lab in ("north", "south")
    ]
    url = ",".join(labs)
    cluster = dask_processes(workers=2)
    runbook = write_runbook(tmp_path, AUDIT.replace("steps:", "strategy: {workers: 50}\nsteps:"))
    local = acmerun(str(runbook), "--report", "local.json", url=url, cwd=tmp_path, timeout=400)
    on_cluster = acmerun(
        str(runbook),
        "--cluster",
        cluster.address,
        "--report",
        "cluster.json",
        url=url,
        cwd=tmp_path,
        timeout=400,
    )
    assert local.returncode == on_cluster.returncode == 3, on_cluster.stdout + on_cluster.stderr
    assert on_cluster.stderr == ""
    hosts = report_hosts(tmp_path / "cluster.json")
    assert len(hosts) == 2000
    assert hosts == report_hosts(tmp_path / "local.json")
    assert Counter(status for status, *_ in hosts.values()) == {"ok": 1996, "unreachable": 4}
    lines = on_cluster.stdout.splitlines()
    assert lines[1] == f"cluster: Dask scheduler {cluster.address}, 4 shards by site"
    workers = {w.address for w in cluster.workers}
    shard_lines = [line for line in lines if line.startswith("shard site=")]
    assert len(shard_lines) == 4, on_cluster.stdout
    assert {line.rsplit(" on ", 1)[1] for line in shard_lines} <= workers


@pytest.mark.timeout(600)
@pytest.mark.parametrize("allowed_failures", ["3", "0"], ids=["rescheduled", "killed-worker"])
def test_a_dask_worker_killed_mid_run_loses_no_host_and_upgrades_no_device_twice(
    allowed_failures: str,
    start_lab: Callable[..., str],
    dask_processes: Callable[..., DaskCluster],
    tmp_path: Path,
) -> None:
    distributed = pytest.importorskip("distributed")
    url = start_lab(
        "--site", "earth", "--site", "mars", "--leaves", "30", "--install-seconds", "0.1"
    )
    devices = set(lab_get(url, "/lab/devices"))
    assert len(devices) == 72
    # 3: the scheduler runs the lost task again itself; 0: it gives up (KilledWorker)
    cluster = dask_processes(
        workers=2, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=allowed_failures
    )
    runbook = write_runbook(tmp_path, UPGRADE)
    run = processes.start_acmerun(
        str(runbook),
        "--cluster",
        cluster.address,
        "--report",
        "r.json",
        env=processes.environment(url),
        cwd=tmp_path,
    )
    with distributed.Client(cluster.address, timeout=30) as client:
        try:
            # both shards under way (one a worker), 10 devices installed: kill a worker
            processes.wait_until(
                lambda: len(lab_get(url, "/lab/installs")["installs"]) >= 10,
                "10 devices are installed",
                timeout=120,
            )
            busy = {a for a, keys in client.processing().items() if keys}
            victim = next(w for w in cluster.workers if w.address in busy)
            victim.kill()
            out, err = run.communicate(timeout=180)
        finally:
            run.kill()
    assert run.returncode == 0, out + err
    assert err == ""
    report = json.loads((tmp_path / "r.json").read_text())
    hosts = report["hosts"]
    assert set(hosts) == devices
    notice = next(line for line in out.splitlines() if line.startswith("notice: "))
    assert notice.startswith(f"notice: worker {victim.address} was lost running shard site=")
    assert notice.endswith(" hosts without a result run again on another worker"), notice
    shard = notice.split("shard site=", 1)[1].split(";", 1)[0]
    retried = next(line for line in out.splitlines() if line.startswith(f"shard site={shard}:"))
    assert retried.endswith(f" (attempt 2; lost: {victim.address})"), out
    # every device installed exactly once: the re-run found the lost worker's upgrades done
    installs = lab_get(url, "/lab/installs")["installs"]
    assert Counter(i["device"] for i in installs) == dict.fromkeys(devices, 1)
    assert {i["to"] for i in installs} == {"9.0.1"}
    assert {d["version"] for d in lab_get(url, "/lab/devices").values()} == {"9.0.1"}
    # as a local run: every host upgraded; one the lost worker had upgraded without telling
    # the driver is run again and finds nothing to do
    statuses = Counter(h["status"] for h in hosts.values())
    assert set(statuses) <= {"changed", "ok"}, statuses
    for name, host in hosts.items():
        if host["status"] == "ok":
            assert name.endswith(f".{shard}"), name
            assert host["steps"][1]["result"] == "nothing to do"
    # at most the hosts in flight (2) and those finished in the last 0.5 s (2 per 0.1 s install)
    assert statuses["ok"] <= 14, statuses
