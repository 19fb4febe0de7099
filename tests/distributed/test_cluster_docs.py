"""The production shape of docs/distributed.md, run as the page shows it, on loopback.

The ``sh`` blocks of the section "The production shape" are read line by line:
``export`` sets the environment of the commands after it, ``dask scheduler`` and
``dask worker`` start those processes, ``acmerun`` runs. What the page names that
only exists in production is replaced: the scheduler's address (10.0.0.2:8786) by
a free port of loopback, the inventory service by a lab serving earth, mars and
venus, the credentials by the lab's.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.cluster import AUDIT, write_runbook
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME
from tests.support.dask_cluster import DaskCluster, DaskWorker

pytest.importorskip("distributed", reason="Dask distributed is not installed")

DOC = processes.REPO / "docs" / "distributed.md"


def blocks() -> list[list[list[str]]]:
    """The command lines of the production shape's ``sh`` blocks, comments left out."""
    text = DOC.read_text()
    section = text.split("## The production shape", 1)[1].split("\n## ", 1)[0]
    return [
        [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
        for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    ]


@pytest.mark.timeout(600)  # five processes to start, on a loaded machine
def test_the_scheduler_workers_and_run_of_the_page_work_as_it_says(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab("--site", "earth", "--site", "mars", "--site", "venus", "--leaves", "4")
    machines = blocks()  # each block on a machine of its own: its own environment
    assert [[" ".join(line[:2]) for line in lines] for lines in machines] == [
        ["dask scheduler"],
        ["export ACMEOS_USERNAME=netops", "dask worker", "dask worker", "dask worker"],
        ["export ACME_INVENTORY_URL=http://inventory.example.net:8080", "acmerun runbook.yml"],
    ]
    here = {"ACMEOS_USERNAME": LAB_USERNAME, "ACMEOS_PASSWORD": LAB_PASSWORD}
    here["ACME_INVENTORY_URL"] = url
    cluster: DaskCluster | None = None
    workers: list[DaskWorker] = []
    write_runbook(tmp_path, AUDIT)
    try:
        for lines in machines:
            env: dict[str, str] = {}
            for argv in lines:
                if argv[0] == "export":
                    env.update({n: here[n] for n in (s.split("=", 1)[0] for s in argv[1:])})
                elif argv[:2] == ["dask", "scheduler"]:
                    assert argv[2:] == ["--host", "10.0.0.2", "--port", "8786"]
                    cluster = DaskCluster.start(tmp_path / "dask", processes.environment(**env))
                elif argv[:2] == ["dask", "worker"]:
                    assert cluster is not None and argv[2] == "tcp://10.0.0.2:8786"
                    worker_env = processes.environment(**env)
                    workers.append(cluster.start_worker(worker_env, cluster.address, *argv[3:]))
                else:
                    assert cluster is not None and argv[0] == "acmerun"
                    args = [cluster.address if a == "tcp://10.0.0.2:8786" else a for a in argv]
                    run = processes.run_acmerun(
                        *args[1:], env=processes.environment(**env), cwd=tmp_path, timeout=180
                    )
    finally:
        if cluster is not None:
            cluster.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    assert (tmp_path / "run.json").is_file()
    shard_lines = {
        line.split(":", 1)[0]: line for line in run.stdout.splitlines() if line.startswith("shard ")
    }
    assert shard_lines["shard site=earth"].endswith(f" on {workers[0].address}")
    assert shard_lines["shard site=mars"].endswith(f" on {workers[1].address}")
    assert shard_lines["shard site=venus"].endswith(f" on {workers[1].address}")
