"""Lab processes, a real Dask cluster of processes, and ``acmerun`` as a process."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cluster_helpers import LAB_PASSWORD, LAB_USERNAME

READY = "inventory: "


def _ready_url(process: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0 or (not selector.select(left) and time.monotonic() >= deadline):
                raise RuntimeError("the lab did not start")
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("the lab exited before its ready line")
            buffer += chunk
    finally:
        selector.close()
    line = buffer.split(b"\n", 1)[0].decode()
    assert line.startswith(READY), line
    return line[len(READY) :].strip()


@pytest.fixture
def start_lab() -> Iterator[Callable[..., str]]:
    """``start_lab("--site", "earth", ...)``: a lab process; its inventory URL. Stopped after."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> str:
        env = dict(os.environ, ACMEOS_LAB_PASSWORD=LAB_PASSWORD)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "acmerun.lab",
                "serve",
                "--port",
                "0",
                "--username",
                LAB_USERNAME,
                *options,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        processes.append(process)
        return _ready_url(process)

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


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
            dashboard_address=None,
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client
