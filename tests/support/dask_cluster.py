"""A real Dask cluster of processes: ``dask scheduler`` and ``dask worker``, as in production.

``DaskCluster.start(folder)`` runs ``dask scheduler --host 127.0.0.1 --port 0`` (a free
port), waits for its ``Scheduler at: tcp://...`` line and keeps the address;
``add_worker(env)`` runs ``dask worker ADDRESS --no-nanny`` (the process *is* the
worker, so a SIGKILL to it loses the worker) and waits for its ``Registered to:``
line. Each process's log (stdout and stderr together) is drained by a thread of
its own, so a chatty process never blocks on a full pipe, and the test waits on
lines, never on a timer. ``stop()`` ends every process it started (SIGTERM, then
SIGKILL) and records their logs for the secret scan.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support import processes

#: the ``dask`` command of this interpreter's environment (the ``distributed`` package's CLI)
DASK = str(Path(sys.executable).with_name("dask"))
#: how long a scheduler or a worker may take to say it is ready, on a loaded machine
READY_TIMEOUT = 90.0
_ADDRESS = re.compile(r"tcp://[0-9.]+:[0-9]+")


class DaskProcess:
    """One ``dask`` process; its log kept line by line as it comes."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.what = " ".join(["dask", *argv[1:3]])
        self.proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self._ended = False
        self._recorded = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="dask-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = READY_TIMEOUT) -> str:
        """The first line of the log holding ``text``; fails when it ends or time is up."""

        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None or self._ended, timeout)
            line = found()
        assert line is not None, f"{self.what}: no line with {text!r}; it said {self.log()[-3000:]}"
        return line

    def log(self) -> str:
        """Everything it printed so far."""
        with self._changed:
            return "".join(self.lines)

    def kill(self) -> None:
        """SIGKILL and reap it (a worker lost: a crash, ``kill -9``, a machine gone)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self._end(timeout=30)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it lingers 15 s; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self._end(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.proc.returncode

    def _end(self, timeout: float) -> None:
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        if not self._recorded:
            self._recorded = True
            processes.record(f"log of {self.what}", self.log())


class DaskWorker(DaskProcess):
    """A ``dask worker`` process; ``address`` is its own (what the driver's lines name)."""

    address = ""


class DaskCluster:
    """A scheduler and its workers, each a process of its own on loopback."""

    def __init__(self, scheduler: DaskProcess, address: str, folder: Path) -> None:
        self.scheduler = scheduler
        self.address = address
        self.folder = folder
        self.workers: list[DaskWorker] = []

    @classmethod
    def start(cls, folder: Path, env: Mapping[str, str] | None = None) -> DaskCluster:
        """``dask scheduler`` on a free port of loopback, once it says where it listens."""
        folder.mkdir(parents=True, exist_ok=True)
        argv = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
        scheduler = DaskProcess(argv, env or processes.environment(), folder)
        try:
            line = scheduler.wait_for("Scheduler at:")
        except BaseException:
            scheduler.stop()
            raise
        found = _ADDRESS.search(line)
        assert found is not None, line
        return cls(scheduler, found.group(0), folder)

    def add_worker(self, env: Mapping[str, str], *options: str) -> DaskWorker:
        """``dask worker SCHEDULER --nthreads 1 --no-nanny OPTIONS``, once registered."""
        return self.start_worker(env, self.address, "--nthreads", "1", "--no-nanny", *options)

    def start_worker(self, env: Mapping[str, str], *arguments: str) -> DaskWorker:
        """``dask worker ARGUMENTS`` on loopback (its scratch space in the cluster's folder)."""
        name = f"worker-{len(self.workers) + 1}"
        scratch = self.folder / name
        scratch.mkdir(exist_ok=True)
        argv = [DASK, "worker", *arguments, "--no-dashboard", "--host", "127.0.0.1"]
        argv += ["--name", name, "--local-directory", str(scratch)]
        worker = DaskWorker(argv, env, self.folder)
        self.workers.append(worker)
        worker.wait_for("Registered to:")
        found = _ADDRESS.search(worker.wait_for("Start worker at:"))
        assert found is not None
        worker.address = found.group(0)
        return worker

    def stop(self) -> None:
        """End every worker, then the scheduler."""
        for worker in self.workers:
            worker.stop()
        self.scheduler.stop()


__all__ = ["DASK", "DaskCluster", "DaskProcess", "DaskWorker"]
