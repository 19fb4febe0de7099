"""Lab processes and a real Dask cluster of processes on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME
from tests.support.dask_cluster import DaskCluster

#: what a worker of a tcp:// cluster finds in its environment
WORKER_CREDENTIALS = {"ACMEOS_USERNAME": LAB_USERNAME, "ACMEOS_PASSWORD": LAB_PASSWORD}


@pytest.fixture
def start_lab() -> Iterator[Callable[..., str]]:
    """``start_lab("--site", "earth", ...)``: a lab process; its inventory URL. Stopped after."""
    started: list[processes.LabProcess] = []

    def start(*options: str) -> str:
        started.append(processes.start_lab(*options, sites=(), leaves=None))
        return started[-1].url

    yield start
    processes.stop(started)


@pytest.fixture
def cluster() -> Iterator[Any]:
    """A Dask LocalCluster of two worker processes (one thread each) on loopback."""
    distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",  # a free port: another cluster may hold 8787
            env=WORKER_CREDENTIALS,  # tcp:// workers log in with their own credentials
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.fixture
def dask_processes(tmp_path: Path) -> Iterator[Callable[..., DaskCluster]]:
    """``dask_processes(workers=2)``: ``dask scheduler`` and ``dask worker`` processes.

    The workers log in with the test credentials from their own environment;
    ``scheduler_env`` adds to the scheduler's (``DASK_DISTRIBUTED__...`` settings).
    Every process started is stopped after the test.
    """
    pytest.importorskip("distributed", reason="Dask distributed is not installed")
    started: list[DaskCluster] = []

    def start(workers: int = 2, **scheduler_env: str) -> DaskCluster:
        folder = tmp_path / f"dask-{len(started) + 1}"
        started.append(DaskCluster.start(folder, processes.environment(**scheduler_env)))
        for _ in range(workers):
            started[-1].add_worker(processes.environment(**WORKER_CREDENTIALS))
        return started[-1]

    yield start
    for cluster in started:
        cluster.stop()
