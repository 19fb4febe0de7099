"""Scale: a 10,000-device lab, a 3-step runbook, the whole thing timed lab start included.

Each run starts a lab of ``--sites 8 --leaves 1244`` (10,000 devices), waits for
its ready line, runs ``acmerun bench/runbooks/three-calls.yml`` over every device
and stops the lab. Figures: the lab's start-up time, acmerun's wall time and
host-steps per second, the whole run's wall time, acmerun's peak RSS (its own,
from ``wait4``) and the lab's (``VmHWM``). Goals: whole run < 30 s, acmerun's
peak RSS < 300 MiB. Against the same lab, a plain nornir ``get_version`` over the
whole fleet (``bench/nornir_script.py --calls version``) is timed as well.

    .venv/bin/python bench/scale.py [--runs 3] [--workers 50]
"""

from __future__ import annotations

import argparse
import time

import common

SITES, LEAVES = 8, 1244
STEPS = 3
GOAL_WALL = 30.0
GOAL_RSS = 300.0


def one_run(workers: int) -> dict[str, float]:
    """One lab start, one acmerun run, one nornir get_version run; the figures of each."""
    started = time.perf_counter()
    with common.Lab(SITES, LEAVES) as lab:
        acmerun = common.run_timed(
            [
                common.ACMERUN,
                str(common.RUNBOOKS / "three-calls.yml"),
                "--workers",
                str(workers),
                "--quiet",
            ],
            lab.env(),
        ).check("acmerun")
        whole = time.perf_counter() - started
        nornir = common.run_timed(
            [
                common.PYTHON,
                str(common.BENCH / "nornir_script.py"),
                "--workers",
                str(workers),
                "--calls",
                "version",
            ],
            lab.env(),
        ).check("nornir get_version")
    figures = {
        "lab_startup_s": lab.startup_seconds,
        "acmerun_wall_s": acmerun.wall,
        "whole_run_s": whole,
        "host_steps_per_s": lab.devices * STEPS / acmerun.wall,
        "acmerun_peak_rss_mib": acmerun.peak_rss_mib,
        "lab_peak_rss_mib": lab.peak_rss_mib,
        "nornir_get_version_wall_s": nornir.wall,
    }
    common.say(
        "  lab start {lab_startup_s:.1f} s, acmerun {acmerun_wall_s:.1f} s "
        "({host_steps_per_s:.0f} host-steps/s), whole {whole_run_s:.1f} s, "
        "acmerun {acmerun_peak_rss_mib:.0f} MiB, lab {lab_peak_rss_mib:.0f} MiB, "
        "nornir get_version {nornir_get_version_wall_s:.1f} s".format(**figures)
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=50)
    options = parser.parse_args()
    devices = common.fleet_size(SITES, LEAVES)
    common.say(f"{devices} devices, {STEPS} steps, {options.workers} workers")
    runs = [one_run(options.workers) for _ in range(options.runs)]
    figures: dict[str, object] = {
        "devices": devices,
        "steps": STEPS,
        "workers": options.workers,
        "runs": options.runs,
    }
    figures.update(common.summaries(runs))
    whole = figures["whole_run_s"]
    rss = figures["acmerun_peak_rss_mib"]
    assert isinstance(whole, dict) and isinstance(rss, dict)
    figures["goal"] = f"whole run < {GOAL_WALL:.0f} s, acmerun peak RSS < {GOAL_RSS:.0f} MiB"
    figures["met"] = whole["median"] < GOAL_WALL and rss["max"] < GOAL_RSS
    figures["raw"] = runs
    common.say(
        f"whole run {common.fmt(whole)}, acmerun peak RSS {common.fmt(rss, 'MiB', 0)}: "
        f"{'met' if figures['met'] else 'NOT met'}"
    )
    common.emit("scale", figures)


if __name__ == "__main__":
    main()
