"""Latency bound: 50 ms per device call, 848 devices, 100 workers, against the ideal.

The lab adds 50 ms to every device call (``--latency-ms 50:50``); acmerun runs
``bench/runbooks/three-calls.yml`` with 100 workers. Each host makes 5 calls:
log in, the 3 calls, log out. The bound is ceil(hosts / workers) x 5 x 50 ms: no
batch of workers waits less than that. The wall time is acmerun's, from
process start to exit. Goal: wall / bound <= 1.15.

Beside it: the run's own duration from acmerun's JSON report (inventory load and
every host, without the interpreter's start-up and the runbook's loading) against
the same bound; the same runbook against a lab with no latency (same workers,
same round): what the device calls cost this machine's CPUs when no call waits
at all; and the hand-written nornir script (``bench/nornir_script.py``, same
workers) against the same 50 ms lab: what plain nornir reaches under the same
latency.

    .venv/bin/python bench/latency.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import math

import common

SITES, LEAVES = 8, 100
WORKERS = 100
LATENCY_S = 0.050
CALLS_PER_HOST = 5
GOAL = 1.15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    hosts = common.fleet_size(SITES, LEAVES)
    bound = math.ceil(hosts / WORKERS) * CALLS_PER_HOST * LATENCY_S
    command = [
        common.ACMERUN,
        str(common.RUNBOOKS / "three-calls.yml"),
        "--workers",
        str(WORKERS),
        "--quiet",
    ]
    report = common.RESULTS / "latency-report.json"
    command += ["--report", str(report)]
    walls: list[float] = []
    durations: list[float] = []
    fixed: list[float] = []
    nornir_walls: list[float] = []
    nornir = [common.PYTHON, str(common.BENCH / "nornir_script.py"), "--workers", str(WORKERS)]
    with (
        common.Lab(SITES, LEAVES, ["--latency-ms", "50:50"]) as slow,
        common.Lab(SITES, LEAVES) as fast,
    ):
        common.run_timed(command, slow.env()).check("acmerun (warm-up)")
        for round_ in range(options.runs):
            wall = common.run_timed(command, slow.env()).check("acmerun").wall
            durations.append(json.loads(report.read_text())["duration"])
            base = common.run_timed(command, fast.env()).check("acmerun, no latency").wall
            plain = common.run_timed(nornir, slow.env()).check("nornir script").wall
            nornir_walls.append(plain)
            walls.append(wall)
            fixed.append(base)
            common.say(
                f"  round {round_ + 1}: {wall:.2f} s (bound {bound:.2f} s, ratio "
                f"{wall / bound:.3f}); run duration {durations[-1]:.2f} s (ratio "
                f"{durations[-1] / bound:.3f}); with no latency {base:.2f} s; "
                f"nornir script {plain:.2f} s (ratio {plain / bound:.3f})"
            )
    ratio = common.summary([wall / bound for wall in walls])
    figures = {
        "devices": hosts,
        "workers": WORKERS,
        "latency_ms": LATENCY_S * 1000,
        "calls_per_host": CALLS_PER_HOST,
        "bound_s": bound,
        "runs": options.runs,
        "wall_s": common.summary(walls),
        "no_latency_wall_s": common.summary(fixed),
        "ratio": ratio,
        "nornir_wall_s": common.summary(nornir_walls),
        "nornir_ratio": common.summary([wall / bound for wall in nornir_walls]),
        "run_duration_s": common.summary(durations),
        "run_duration_ratio": common.summary([duration / bound for duration in durations]),
        "goal": f"wall / bound <= {GOAL}",
        "met": ratio["median"] <= GOAL,
        "raw": {
            "wall": walls,
            "run_duration": durations,
            "no_latency_wall": fixed,
            "nornir_wall": nornir_walls,
        },
    }
    common.say(
        f"{hosts} hosts, {WORKERS} workers, 50 ms x {CALLS_PER_HOST} calls: "
        f"wall {common.fmt(figures['wall_s'])}, bound {bound:.2f} s, "
        f"ratio {common.fmt(ratio, '', 3)} (goal <= {GOAL}: "
        f"{'met' if figures['met'] else 'NOT met'})"
    )
    common.emit("latency", figures)


if __name__ == "__main__":
    main()
