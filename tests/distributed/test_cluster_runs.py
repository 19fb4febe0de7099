"""Runbooks on a real Dask cluster of processes against lab processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.cluster import AUDIT, acmerun, report_hosts, write_runbook
from tests.support.gate import Gate

pytest.importorskip("distributed", reason="Dask distributed is not installed")

UPGRADE = """\
name: upgrade two sites
inventory:
  plugin: ACMEInventory
vars:
  target_version: "5.4.1"
strategy:
  workers: 8
  rolling:
    group_by: "{{ site }}-{{ dev_type }}-{{ rack }}"
    max_down: 1
steps:
  - name: pre-check
    task: acmeos.get_cpu_ram
  - name: upgrade
    task: acmeos.upgrade_os
    args: {version: "{{ target_version }}"}
  - name: running version
    task: acmeos.get_version
    register: ver
    assert: ["ver.full_version == target_version"]
"""


def test_the_same_report_locally_and_on_a_local_cluster(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    sites = ("--site", "earth", "--site", "mars", "--leaves", "10", "--dead", "leaf03.mars")
    local_lab, cluster_lab = start_lab(*sites), start_lab(*sites)
    runbook = write_runbook(tmp_path, UPGRADE)
    local = acmerun(str(runbook), "--report", "local.json", url=local_lab, cwd=tmp_path)
    on_cluster = acmerun(
        str(runbook),
        "--cluster",
        "local:2",
        "--report",
        "cluster.json",
        url=cluster_lab,
        cwd=tmp_path,
    )
    assert local.returncode == on_cluster.returncode == 3, on_cluster.stderr
    hosts = report_hosts(tmp_path / "cluster.json")
    assert hosts == report_hosts(tmp_path / "local.json")
    assert len(hosts) == 32
    assert hosts["leaf03.mars"][0] == "unreachable"
    assert sum(changed for _, changed, _, _ in hosts.values()) > 20
    lines = on_cluster.stdout.splitlines()
    assert lines[1] == "cluster: local cluster of 2 worker processes, 2 shards by site"
    assert any(line.startswith("shard site=earth: 16 hosts in ") for line in lines)


def test_a_worker_killed_mid_run_loses_no_host(
    start_lab: Callable[..., str], cluster: Any, tmp_path: Path
) -> None:
    url = start_lab("--site", "earth", "--site", "mars", "--leaves", "14")
    with Gate() as gate:
        # one host in the middle of each shard waits: its shard is under way, not done
        held = "inventory_hostname in ['leaf05.earth', 'leaf05.mars']"
        runbook = write_runbook(tmp_path, AUDIT + gate.step(when=held))
        run = processes.start_acmerun(
            str(runbook),
            "--cluster",
            cluster.scheduler.address,
            "--workers",
            "2",
            "--report",
            "r.json",
            env=processes.environment(url),
            cwd=tmp_path,
        )
        try:
            (victim,) = gate.wait_for(1)  # it runs in a Dask worker process
            os.kill(victim.pid, signal.SIGKILL)
            gate.open()
            out, err = run.communicate(timeout=120)
        finally:
            run.kill()
    assert run.returncode == 0, out + err
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["hosts"]) == 40
    assert report["totals"]["ok"] == 40
    assert "(attempt 2; lost: tcp://" in out
    shard = victim.host.split(".")[1]
    assert any(f"site={shard}" in line and "attempt 2" in line for line in out.splitlines()), out


def test_a_shard_runs_on_the_worker_offering_its_resource(
    start_lab: Callable[..., str], cluster: Any, tmp_path: Path
) -> None:
    url = start_lab("--site", "earth", "--site", "mars", "--site", "venus", "--leaves", "4")
    address = cluster.scheduler.address
    pinned = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            address,
            "--nthreads",
            "1",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            "--resources",
            "site-mars=1",
        ],
        env=processes.environment(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        cluster.wait_for_workers(3, timeout=120)
        workers = cluster.scheduler_info()["workers"]
        mars_worker = next(a for a, w in workers.items() if w.get("resources"))
        runbook = write_runbook(tmp_path, AUDIT)
        run = acmerun(str(runbook), "--cluster", address, url=url, cwd=tmp_path)
    finally:
        pinned.send_signal(signal.SIGTERM)
        try:
            pinned.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pinned.kill()
            pinned.wait()
    assert run.returncode == 0, run.stderr
    assert "shard site=mars: 10 hosts in " in run.stdout
    mars_line = next(line for line in run.stdout.splitlines() if "site=mars" in line)
    assert mars_line.endswith(f" on {mars_worker}")


def test_max_fail_percentage_holds_across_the_cluster(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab(
        "--site",
        "earth",
        "--site",
        "mars",
        "--site",
        "venus",
        "--leaves",
        "10",
        "--dead",
        "*.earth",
    )
    runbook = write_runbook(
        tmp_path,
        AUDIT.replace(
            "steps:\n", "strategy:\n  max_fail_percentage: 10\n  workers: 2\nsteps:\n", 1
        ),
    )
    run = acmerun(str(runbook), "--cluster", "local:1", "--report", "r.json", url=url, cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert len(hosts) == 48, run.stdout
    others = {n: h for n, h in hosts.items() if not n.endswith(".earth")}
    assert {h["status"] for h in others.values()} == {"skipped"}, run.stdout
    assert all("max_fail_percentage 10% exceeded" in h["error"] for h in others.values())
    assert all("of 48 hosts failed" in h["error"] for h in others.values())
    unreachable = [n for n, h in hosts.items() if h["status"] == "unreachable"]
    assert 5 <= len(unreachable) <= 8
