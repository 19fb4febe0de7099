"""WAN latency: 10,000 devices at 50, 100 and 200 ms a call, 100 to 5,000 workers, one core each.

For each latency one lab of ``--sites 8 --leaves 1244`` (10,000 devices) is
started with that latency on every device call (``--latency-ms L:L``) and
pinned to one CPU (``taskset -a -p -c 0``: every thread of it). Against it, for
each worker count, ``acmerun bench/runbooks/three-calls.yml --workers W --quiet``
and the hand-written ``bench/nornir_script.py --workers W`` run alternately (the
order swaps every round), each pinned to the other CPU (``taskset -c 1``) and
timed from process start to exit. Each host makes 5 exchanges (log in, 3 calls,
log out), so the bound is ceil(devices / workers) x 5 x latency: no batch of
workers waits less than that.

Figures per latency and worker count, for each contender: the wall time and
wall / bound; the controller's CPU seconds, user and system (``wait4``'s
rusage of that process alone), and its CPU per device exchange, cpu / (devices
x 5), in ms; its peak RSS. Beside them, acmerun / nornir per round. Every run
must succeed for every host: acmerun exits 0, the script exits 0 and counts
every device as ok. Without ``taskset`` or with one CPU, everything runs
unpinned and the figures say so. Goal, at 100 ms for 10,000 devices: acmerun
within 2.0 x the bound, at most 0.15 ms of CPU per exchange, peak RSS under
300 MiB, and ahead of the nornir script.

    .venv/bin/python bench/wan.py [--latencies 50,100,200] [--workers 100,1000,5000]
                                  [--runs 3] [--sites 8 --leaves 1244] [--warmup]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import common

CALLS_PER_HOST = 5
#: open files a process needs beyond its connections (the interpreter, logs, pipes)
RESERVED_FILES = 256
GOAL_LATENCY_MS = 100
GOAL_DEVICES = 10_000
GOAL_RATIO = 2.0
GOAL_CPU_MS = 0.15
GOAL_RSS_MIB = 300.0
NORNIR_LINE = re.compile(r"hosts: (\d+) ok: (\d+) failed: (\d+)")


@dataclass
class Pinning:
    """Where the lab and the controller run: two CPUs, or unpinned and why."""

    lab_cpu: int | None
    controller_cpu: int | None
    note: str

    @property
    def pinned(self) -> bool:
        return self.lab_cpu is not None

    def controller(self, command: Sequence[str]) -> list[str]:
        """``command``, prefixed with ``taskset -c CPU`` when pinned."""
        if self.controller_cpu is None:
            return list(command)
        return ["taskset", "-c", str(self.controller_cpu), *command]

    def pin_lab(self, pid: int) -> None:
        """Pin every thread of the running lab to its CPU; raise if it did not hold."""
        if self.lab_cpu is None:
            return
        subprocess.run(
            ["taskset", "-a", "-p", "-c", str(self.lab_cpu), str(pid)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if os.sched_getaffinity(pid) != {self.lab_cpu}:
            raise RuntimeError(f"the lab (pid {pid}) is not pinned to CPU {self.lab_cpu}")

    def figures(self) -> dict[str, Any]:
        return {
            "pinned": self.pinned,
            "lab_cpu": self.lab_cpu,
            "controller_cpu": self.controller_cpu,
            "note": self.note,
        }


def pinning() -> Pinning:
    """The first two CPUs this process may use, one for the lab, one for the controller."""
    if shutil.which("taskset") is None:
        return Pinning(None, None, "unpinned: taskset not found")
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return Pinning(None, None, f"unpinned: one CPU ({cpus[0]}) available")
    lab, controller = cpus[0], cpus[1]
    return Pinning(lab, controller, f"lab on CPU {lab}, controller on CPU {controller} (taskset)")


def open_files(needed: int) -> dict[str, Any]:
    """Raise the soft open-file limit the children inherit to ``needed`` (up to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = soft
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            common.say(f"could not raise the open-file limit to {target}: {exc}")

    def shown(limit: int) -> int | str:
        return "unlimited" if limit == resource.RLIM_INFINITY else limit

    return {"soft_before": shown(before), "soft": shown(soft), "hard": shown(hard), "raw": soft}


def files_needed(devices: int, workers: int) -> int:
    """Open files the lab needs: a listener per device, a connection per host in flight."""
    return devices + min(workers, devices) + RESERVED_FILES


def files_enough(limit: int, devices: int, workers: int) -> bool:
    """Whether ``limit`` open files hold the lab's listeners and connections for ``workers``."""
    return limit == resource.RLIM_INFINITY or limit >= files_needed(devices, workers)


def bound_s(devices: int, workers: int, latency_ms: int) -> float:
    """ceil(devices / workers) x 5 exchanges x latency."""
    return math.ceil(devices / workers) * CALLS_PER_HOST * latency_ms / 1000


def commands(workers: int, pins: Pinning) -> dict[str, list[str]]:
    """Both contenders' command lines for ``workers``."""
    return {name: pins.controller(line) for name, line in common.contenders(workers).items()}


def check_nornir(run: common.Timed, devices: int) -> None:
    """The script's own success check: it exited 0 and counted every device as ok."""
    found = NORNIR_LINE.search(run.stdout)
    if not found or int(found[2]) != devices or int(found[3]):
        raise RuntimeError(f"nornir script: expected {devices} hosts ok, printed {run.stdout!r}")


def one_run(
    name: str,
    command: Sequence[str],
    env: dict[str, str],
    devices: int,
    bound: float,
    timeout: float,
) -> dict[str, float]:
    """One run of a contender: its wall time against the bound, its CPU, its peak RSS."""
    run = common.run_timed(command, env, timeout=timeout).check(name)
    if name == "nornir":
        check_nornir(run, devices)
    exchanges = devices * CALLS_PER_HOST
    return {
        "wall_s": run.wall,
        "ratio": run.wall / bound,
        "user_s": run.user,
        "system_s": run.system,
        "cpu_ms_per_exchange": run.cpu * 1000 / exchanges,
        "user_ms_per_exchange": run.user * 1000 / exchanges,
        "system_ms_per_exchange": run.system * 1000 / exchanges,
        "peak_rss_mib": run.peak_rss_mib,
    }


def line(name: str, run: dict[str, float]) -> str:
    return (
        f"{name} {run['wall_s']:.2f} s (x{run['ratio']:.2f}), CPU {run['user_s']:.1f} user + "
        f"{run['system_s']:.1f} sys = {run['cpu_ms_per_exchange']:.3f} ms/exchange, "
        f"{run['peak_rss_mib']:.0f} MiB"
    )


def goal_met(acmerun: dict[str, dict[str, float]], ratio: dict[str, float]) -> bool:
    return (
        acmerun["ratio"]["median"] <= GOAL_RATIO
        and acmerun["cpu_ms_per_exchange"]["median"] <= GOAL_CPU_MS
        and acmerun["peak_rss_mib"]["max"] < GOAL_RSS_MIB
        and ratio["median"] < 1.0
    )


def measure_latency(
    latency_ms: int, options: argparse.Namespace, pins: Pinning, limit: int
) -> list[dict[str, Any]]:
    """One lab at ``latency_ms``; every worker count, both contenders, ``--runs`` rounds."""
    lab_options = ["--latency-ms", f"{latency_ms}:{latency_ms}"]
    raw: dict[int, dict[str, list[dict[str, float]]]] = {
        workers: {"acmerun": [], "nornir": []} for workers in options.workers
    }
    with common.Lab(options.sites, options.leaves, lab_options) as lab:
        pins.pin_lab(lab.pid)
        devices, env = lab.devices, lab.env()
        common.say(f"{latency_ms} ms, {devices} devices: lab ready in {lab.startup_seconds:.1f} s")
        if options.warmup:
            for name, command in commands(options.workers[0], pins).items():
                common.run_timed(command, env, timeout=options.timeout).check(f"{name} (warm-up)")
        for round_ in range(options.runs):
            for workers in options.workers:
                bound = bound_s(devices, workers, latency_ms)
                order = list(commands(workers, pins).items())
                if round_ % 2:
                    order.reverse()
                said = []
                for name, command in order:
                    run = one_run(name, command, env, devices, bound, options.timeout)
                    raw[workers][name].append(run)
                    said.append(line(name, run))
                common.say(
                    f"  round {round_ + 1}, {workers} workers (bound {bound:.2f} s): "
                    + "; ".join(said)
                )
    return [summarise(latency_ms, workers, devices, runs, limit) for workers, runs in raw.items()]


def summarise(
    latency_ms: int,
    workers: int,
    devices: int,
    runs: dict[str, list[dict[str, float]]],
    limit: int,
) -> dict[str, Any]:
    """The figures of one latency and worker count from every round's runs."""
    case: dict[str, Any] = {
        "latency_ms": latency_ms,
        "workers": workers,
        "devices": devices,
        "bound_s": bound_s(devices, workers, latency_ms),
        "open_files_enough": files_enough(limit, devices, workers),
    }
    for name, contender in runs.items():
        case[name] = common.summaries(contender)
    ratio = common.summary(
        [a["wall_s"] / n["wall_s"] for a, n in zip(runs["acmerun"], runs["nornir"], strict=True)]
    )
    case["acmerun_to_nornir"] = ratio
    if latency_ms == GOAL_LATENCY_MS and devices == GOAL_DEVICES:
        case["goal"] = (
            f"acmerun wall / bound <= {GOAL_RATIO}, CPU <= {GOAL_CPU_MS} ms per exchange, "
            f"peak RSS < {GOAL_RSS_MIB:.0f} MiB, ahead of the nornir script"
        )
        case["met"] = goal_met(case["acmerun"], ratio)
    case["raw"] = runs
    acmerun, nornir = case["acmerun"], case["nornir"]
    common.say(
        f"{latency_ms} ms, {workers} workers: bound {case['bound_s']:.2f} s; "
        f"acmerun {common.fmt(acmerun['wall_s'])} (x{acmerun['ratio']['median']:.2f}, "
        f"{acmerun['cpu_ms_per_exchange']['median']:.3f} ms/exchange); "
        f"nornir {common.fmt(nornir['wall_s'])} (x{nornir['ratio']['median']:.2f}, "
        f"{nornir['cpu_ms_per_exchange']['median']:.3f} ms/exchange); "
        f"acmerun / nornir {common.fmt(ratio, '', 3)}"
        + (f" ({'met' if case['met'] else 'NOT met'})" if "met" in case else "")
    )
    return case


def int_list(text: str) -> list[int]:
    """``"50,100,200"`` as positive integers."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latencies", type=int_list, default=[50, 100, 200], help="ms a call")
    parser.add_argument("--workers", type=int_list, default=[100, 1000, 5000])
    parser.add_argument("--runs", type=int, default=3, help="rounds (median, min, max)")
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--leaves", type=int, default=1244, help="leaves per site")
    parser.add_argument(
        "--warmup", action="store_true", help="one untimed run of each contender per lab"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a run may take")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    devices = common.fleet_size(options.sites, options.leaves)
    pins = pinning()
    files = open_files(files_needed(devices, max(options.workers)))
    limit = files.pop("raw")
    short = [w for w in options.workers if not files_enough(limit, devices, w)]
    files["short_for_workers"] = short
    common.say(
        f"{devices} devices, latencies {options.latencies} ms, workers {options.workers}, "
        f"{options.runs} rounds; {pins.note}; open files {files['soft']} (hard {files['hard']})"
        + (f": NOT enough for {short} workers" if short else "")
    )
    cases = [
        case
        for latency_ms in options.latencies
        for case in measure_latency(latency_ms, options, pins, limit)
    ]
    common.emit(
        "wan",
        {
            "devices": devices,
            "sites": options.sites,
            "leaves": options.leaves,
            "calls_per_host": CALLS_PER_HOST,
            "runs": options.runs,
            "warmup": options.warmup,
            "latencies_ms": options.latencies,
            "workers": options.workers,
            "pinning": pins.figures(),
            "open_files": files,
            "cases": cases,
        },
    )


if __name__ == "__main__":
    main()
