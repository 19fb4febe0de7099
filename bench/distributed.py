"""Distributed: the 10,000-device runbook on ``--cluster local:2`` against one process,
a 40,000-device run (four lab processes) on the local cluster, and the same 40,000
devices over a real ``dask scheduler`` and two ``dask worker`` processes.

Part 1 starts one lab of ``--sites 8 --leaves 1244`` (10,000 devices) and runs
``acmerun bench/runbooks/three-calls.yml`` over it twice, as one process and on
``--cluster local:2`` (cluster start-up included in its wall time); the figure
is the ratio of the two wall times, measured in the same run of this script.
Part 2 starts four labs, each serving eight sites of its own (4 x 10,000
devices, each lab under the 20,000 open-files limit of one process), points
acmerun at all four (``ACME_INVENTORY_URL=URL1,URL2,URL3,URL4``) and runs the
same runbook on ``--cluster local:N``. Every host must end ok.
Part 3 starts four such labs again, each with its ``edge00`` devices dead (32
unreachable hosts), runs the runbook as one process, then starts ``dask
scheduler`` and ``--cluster-workers`` ``dask worker`` processes (the production
shape: each its own process, ``--nthreads 1``) and runs it with ``--cluster
tcp://...``; both must exit 3 with the same status for every one of the 40,000
hosts (the JSON reports compared host by host). The cluster's wall time does
not include starting the scheduler and workers (they outlive runs).

    .venv/bin/python bench/distributed.py [--workers 50] [--cluster-workers 2] [--part 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import common

SITES, LEAVES = 8, 1244
STEPS = 3
LABS = 4


def acmerun(
    env: dict[str, str], workers: int, *extra: str, code: int = 0
) -> tuple[common.Timed, dict]:
    """One acmerun run of the three-call runbook (it must exit ``code``); timing, JSON report."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "r.json"
        runbook = Path(folder) / "three-calls.yml"  # its own lock: other benchmarks may run
        runbook.write_text((common.RUNBOOKS / "three-calls.yml").read_text())
        timed = common.run_timed(
            [
                common.ACMERUN,
                str(runbook),
                "--workers",
                str(workers),
                "--report",
                str(report),
                *extra,
            ],
            env,
            timeout=1200,
        )
        if timed.returncode != code:
            timed.check("acmerun " + " ".join(extra))
            raise RuntimeError(f"acmerun {' '.join(extra)} exited 0, not {code}")
        return timed, json.loads(report.read_text())


class DaskProcess:
    """A ``dask scheduler`` or ``dask worker`` process; its log read line by line."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.lines.append("")  # the end
            self.changed.notify_all()

    def wait_for(self, text: str, timeout: float = 120) -> str:
        """The first line holding ``text`` (raises when the process ends or time is up)."""

        def found() -> str | None:
            return next((line for line in self.lines if text in line or line == ""), None)

        with self.changed:
            self.changed.wait_for(lambda: found() is not None, timeout)
            line = found()
        if not line:
            raise RuntimeError(f"{self.proc.args[1]}: no {text!r}: {''.join(self.lines)[-2000:]}")
        return line

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def dask_cluster(env: dict[str, str], workers: int, folder: Path) -> Iterator[str]:
    """``dask scheduler`` and ``workers`` ``dask worker`` processes on loopback; its address."""
    dask = str(Path(common.PYTHON).with_name("dask"))
    started: list[DaskProcess] = []
    try:
        started.append(
            DaskProcess(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"], env
            )
        )
        found = re.search(r"tcp://[0-9.]+:[0-9]+", started[0].wait_for("Scheduler at:"))
        assert found is not None
        address = found.group(0)
        for n in range(workers):
            scratch = folder / f"worker-{n}"
            argv = [dask, "worker", address, "--nthreads", "1", "--no-dashboard"]
            argv += ["--host", "127.0.0.1", "--local-directory", str(scratch)]
            started.append(DaskProcess(argv, env))
        for worker in started[1:]:
            worker.wait_for("Registered to:")
        yield address
    finally:
        for process in reversed(started):
            process.stop()


def statuses(report: dict) -> dict[str, str]:
    """Every host's status in a JSON report."""
    return {name: host["status"] for name, host in report["hosts"].items()}


def labs(stack: contextlib.ExitStack, *options: str) -> dict[str, str]:
    """Four labs of 10,000 devices, sites of their own; the environment naming them all."""
    started = [
        stack.enter_context(
            common.Lab(
                SITES,
                LEAVES,
                options=[opt for s in range(SITES) for opt in ("--site", f"r{n}s{s}")]
                + list(options),
            )
        )
        for n in range(LABS)
    ]
    env = started[0].env()
    env["ACME_INVENTORY_URL"] = ",".join(lab.url for lab in started)
    return env


def real_cluster(options: argparse.Namespace) -> dict[str, object]:
    """Part 3: 40,000 devices as one process and over ``dask scheduler`` + ``dask worker``s."""
    total = LABS * common.fleet_size(SITES, LEAVES)
    workers = options.cluster_workers
    common.say(f"part 3: {total} devices, one process vs dask scheduler + {workers} dask workers")
    with contextlib.ExitStack() as stack:
        env = labs(stack, "--dead", "edge00.*")
        local, local_report = acmerun(env, options.workers, code=3)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        address = stack.enter_context(dask_cluster(env, workers, folder))
        real, real_report = acmerun(env, options.workers, "--cluster", address, code=3)
    assert len(real_report["hosts"]) == total, real_report["totals"]
    assert statuses(real_report) == statuses(local_report), "the reports differ"
    counts = Counter(statuses(real_report).values())
    common.say(
        f"  one process {local.wall:.1f} s, scheduler + {workers} workers {real.wall:.1f} s "
        f"(x{local.wall / real.wall:.2f}); {dict(counts)} in both, host by host; "
        f"driver peak RSS {local.peak_rss_mib:.0f} / {real.peak_rss_mib:.0f} MiB"
    )
    return {
        "real_devices": total,
        "real_dask_workers": workers,
        "real_single_process_wall_s": local.wall,
        "real_cluster_wall_s": real.wall,
        "real_speedup": local.wall / real.wall,
        "real_statuses": dict(counts),
        "real_single_process_peak_rss_mib": local.peak_rss_mib,
        "real_driver_peak_rss_mib": real.peak_rss_mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--cluster-workers", type=int, default=2)
    parser.add_argument("--part", type=int, choices=(1, 2, 3), action="append")
    options = parser.parse_args()
    parts = set(options.part or (1, 2, 3))
    figures: dict[str, object] = {"workers": options.workers, "steps": STEPS}
    if parts & {1, 2}:
        figures.update(local_cluster(options, parts))
    if 3 in parts:
        figures.update(real_cluster(options))
    common.emit("distributed", figures)


def local_cluster(options: argparse.Namespace, parts: set[int]) -> dict[str, object]:
    """Parts 1 and 2: ``--cluster local:N`` against one process, and at 40,000 devices."""
    cluster = f"local:{options.cluster_workers}"
    devices = common.fleet_size(SITES, LEAVES)
    figures: dict[str, object] = {"devices": devices, "cluster": cluster}
    if 1 in parts:
        figures.update(part_one(options, cluster, devices))
    if 2 in parts:
        figures.update(part_two(options, cluster, devices))
    return figures


def part_one(options: argparse.Namespace, cluster: str, devices: int) -> dict[str, object]:
    """Part 1: 10,000 devices, one process vs ``--cluster local:N``."""
    common.say(f"part 1: {devices} devices, one process vs --cluster {cluster}")
    with common.Lab(SITES, LEAVES) as lab:
        single, single_report = acmerun(lab.env(), options.workers)
        on_cluster, cluster_report = acmerun(lab.env(), options.workers, "--cluster", cluster)
    assert single_report["totals"]["ok"] == cluster_report["totals"]["ok"] == devices
    ratio = single.wall / on_cluster.wall
    common.say(
        f"  one process {single.wall:.1f} s, {cluster} {on_cluster.wall:.1f} s: "
        f"x{ratio:.2f} ({devices * STEPS / on_cluster.wall:.0f} host-steps/s on the cluster)"
    )

    return {
        "single_process_wall_s": single.wall,
        "cluster_wall_s": on_cluster.wall,
        "speedup": ratio,
    }


def part_two(options: argparse.Namespace, cluster: str, devices: int) -> dict[str, object]:
    """Part 2: 40,000 devices in four labs on ``--cluster local:N``."""
    total = LABS * devices
    common.say(f"part 2: {total} devices in {LABS} lab processes, --cluster {cluster}")
    with contextlib.ExitStack() as stack:
        env = labs(stack)
        big, big_report = acmerun(env, options.workers, "--cluster", cluster)
    assert len(big_report["hosts"]) == total, big_report["totals"]
    assert big_report["totals"]["ok"] == total, big_report["totals"]
    common.say(
        f"  {total} devices: {big.wall:.1f} s ({total * STEPS / big.wall:.0f} host-steps/s), "
        f"driver peak RSS {big.peak_rss_mib:.0f} MiB"
    )
    return {
        "big_devices": total,
        "big_labs": LABS,
        "big_wall_s": big.wall,
        "big_host_steps_per_s": total * STEPS / big.wall,
        "big_driver_peak_rss_mib": big.peak_rss_mib,
        "big_totals": big_report["totals"],
    }


if __name__ == "__main__":
    main()
