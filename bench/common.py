"""Shared helpers of the benchmarks: a lab process, timed child processes, figures, results.

Every benchmark starts its own lab (``python -m acmerun.lab serve``) and
measures other programs as separate processes, from their start to their exit:

- ``Lab``: a context manager that starts the lab (``acmerun.lab.process``, which
  waits for its ready line ``inventory: URL``), records how long that took, and
  on exit reads the lab's peak RSS (``VmHWM`` in ``/proc/PID/status``) before
  stopping it with SIGTERM (SIGKILL if it lingers).
- ``run_timed``: runs a command, reaps it with ``os.wait4`` to get that child's own
  peak RSS and CPU time (user and system), and returns them with its wall time.
- ``summary``: median, min and max of several runs.
- ``save``: writes ``bench/results/NAME.json`` (the machine, the settings, every
  run) and returns the path.

Every process started here is stopped when the benchmark exits, whatever happens.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acmerun.lab.process import LabProcess, LabProcessError, lab_command, start_lab

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
RUNBOOKS = BENCH / "runbooks"
PYTHON = sys.executable
ACMERUN = str(Path(PYTHON).parent / "acmerun")
MIB = 1024 * 1024

_children: set[subprocess.Popen[bytes]] = set()


def _kill_children() -> None:
    for child in list(_children):
        if child.poll() is None:
            child.kill()
            child.wait()
        _children.discard(child)


atexit.register(_kill_children)


def _on_signal(signum: int, frame: object) -> None:
    _kill_children()
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)


def fleet_size(sites: int, leaves: int) -> int:
    """How many devices ``--sites SITES --leaves LEAVES`` serves (2 edges, 4 spines per site)."""
    return sites * (6 + leaves)


class Lab:
    """The AcmeOS lab as a process, for the length of a ``with`` block."""

    def __init__(
        self,
        sites: int = 8,
        leaves: int = 100,
        options: Sequence[str] = (),
        ready_timeout: float = 180.0,
    ) -> None:
        self.sites = sites
        self.leaves = leaves
        self.devices = fleet_size(sites, leaves)
        self.options_extra = list(options)
        self.ready_timeout = ready_timeout
        self.url = ""
        self.pid = 0
        self.startup_seconds = 0.0
        self.peak_rss_mib = 0.0
        self._lab: LabProcess | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    def options(self) -> list[str]:
        """The options of ``acmerun lab serve``."""
        return ["--sites", str(self.sites), "--leaves", str(self.leaves), *self.options_extra]

    def command(self) -> list[str]:
        """The lab's command line."""
        return lab_command(self.options(), PYTHON)

    def __enter__(self) -> Lab:
        started = time.perf_counter()
        try:
            self._lab = start_lab(
                self.options(),
                cwd=ROOT,
                stderr=self._stderr,
                ready_timeout=self.ready_timeout,
                python=PYTHON,
            )
        except LabProcessError as exc:
            said = self.errors()
            self._stderr.close()
            raise RuntimeError(f"{exc}: {said.strip()}") from None
        _children.add(self._lab.proc)
        self.url = self._lab.url
        self.pid = self._lab.pid
        self.startup_seconds = time.perf_counter() - started
        return self

    def errors(self) -> str:
        """What the lab wrote on stderr so far."""
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a client of this lab runs in."""
        env = dict(os.environ)
        env.update(ACME_INVENTORY_URL=self.url, PYTHONDONTWRITEBYTECODE="1", **extra)
        env.pop("ACMEOS_USERNAME", None)
        env.pop("ACMEOS_PASSWORD", None)
        return env

    def get(self, path: str) -> Any:
        """GET a JSON document from the lab's inventory port."""
        import urllib.request

        with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=60) as answer:
            return json.loads(answer.read())

    def __exit__(self, *exc: object) -> None:
        lab, self._lab = self._lab, None
        if lab is None:
            return
        self.peak_rss_mib = peak_rss_mib(lab.pid)
        lab.stop()
        _children.discard(lab.proc)
        self._stderr.close()


def peak_rss_mib(pid: int) -> float:
    """The peak resident set size of a running process (``VmHWM``), in MiB; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Timed:
    """One run of a command: wall time from start to exit, CPU time, peak RSS, its output.

    ``cpu`` is ``user + system``: the child's own CPU seconds in user mode and in
    the kernel (``ru_utime`` and ``ru_stime`` from ``wait4``).
    """

    wall: float
    cpu: float
    user: float
    system: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> Timed:
        """Raise when the run did not exit 0 (a benchmark of a failing run measures nothing)."""
        if self.returncode != 0:
            raise RuntimeError(
                f"{what} exited {self.returncode}\n--- stdout\n{self.stdout[-3000:]}"
                f"\n--- stderr\n{self.stderr[-3000:]}"
            )
        return self


def run_timed(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    cwd: Path = ROOT,
) -> Timed:
    """Run ``command`` to its end: wall time, CPU time, peak RSS (its own, from ``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd
        )
        _children.add(process)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
        finally:
            timer.cancel()
            if process.returncode is None and process.poll() is None:
                process.kill()
            _children.discard(process)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Timed(
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            user=usage.ru_utime,
            system=usage.ru_stime,
            peak_rss_mib=usage.ru_maxrss / 1024,
            returncode=process.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def contenders(workers: int) -> dict[str, list[str]]:
    """The three-call run's command lines: acmerun's and the hand-written nornir script's."""
    runbook = str(RUNBOOKS / "three-calls.yml")
    return {
        "acmerun": [ACMERUN, runbook, "--workers", str(workers), "--quiet"],
        "nornir": [PYTHON, str(BENCH / "nornir_script.py"), "--workers", str(workers)],
    }


def summary(values: Sequence[float]) -> dict[str, float]:
    """``{"median", "min", "max"}`` of several runs."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def summaries(runs: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``summary`` of every figure the runs share (the keys of the first)."""
    return {key: summary([run[key] for run in runs]) for key in runs[0]}


def fmt(stats: Mapping[str, float], unit: str = "s", digits: int = 2) -> str:
    """``"1.23 s (1.20 to 1.30)"``: median, then min to max."""
    return (
        f"{stats['median']:.{digits}f}{' ' + unit if unit else ''} "
        f"({stats['min']:.{digits}f} to {stats['max']:.{digits}f})"
    )


def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str] = {}
    from importlib import metadata

    for name in ("nornir", "acmerun", "aiohttp", "urllib3"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "packages": versions,
        "commit": _commit(),
    }


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def save(name: str, figures: Mapping[str, Any]) -> Path:
    """Write ``bench/results/NAME.json`` with the machine and the date; return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        **figures,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def say(text: str) -> None:
    """A line of the human summary (stderr, so stdout stays one JSON document)."""
    print(text, file=sys.stderr, flush=True)


def emit(name: str, figures: Mapping[str, Any]) -> None:
    """Save the results and print them as JSON on stdout."""
    path = save(name, figures)
    print(json.dumps({"benchmark": name, "results": str(path.relative_to(ROOT)), **figures}))
    say(f"results: {path.relative_to(ROOT)}")
