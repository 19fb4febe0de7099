"""acmerun against a hand-written nornir script: same lab, same device calls, same workers.

For each fleet size one lab is started; then, alternately (the order swaps every
round), ``acmerun bench/runbooks/three-calls.yml --workers W --quiet`` and
``python bench/nornir_script.py --workers W`` run against it, each timed from
process start to exit. The ratio acmerun / nornir is taken per round, so both
sides of a ratio ran under the same machine load. Goal: ratio <= 1.10.

    .venv/bin/python bench/vs_nornir.py [--sizes 848,10000] [--runs 5] [--workers 50]
"""

from __future__ import annotations

import argparse

import common

GOAL = 1.10
LABS = {848: (8, 100), 10_000: (8, 1244)}


def measure(devices: int, runs: int, workers: int) -> dict[str, object]:
    """Interleaved runs of both contenders against one lab of ``devices`` devices."""
    sites, leaves = LABS[devices]
    lines = common.contenders(workers)
    acmerun, nornir = lines["acmerun"], lines["nornir"]
    walls: dict[str, list[float]] = {"acmerun": [], "nornir": []}
    rss: dict[str, list[float]] = {"acmerun": [], "nornir": []}
    cpu: dict[str, list[float]] = {"acmerun": [], "nornir": []}
    ratios: list[float] = []
    with common.Lab(sites, leaves) as lab:
        env = lab.env()
        common.say(f"{devices} devices: lab ready in {lab.startup_seconds:.1f} s")
        for name, command in (("acmerun", acmerun), ("nornir", nornir)):
            common.run_timed(command, env).check(f"{name} (warm-up)")
        for round_ in range(runs):
            order = [("acmerun", acmerun), ("nornir", nornir)]
            if round_ % 2:
                order.reverse()
            this: dict[str, float] = {}
            for name, command in order:
                run = common.run_timed(command, env).check(name)
                this[name] = run.wall
                walls[name].append(run.wall)
                rss[name].append(run.peak_rss_mib)
                cpu[name].append(run.cpu)
            ratios.append(this["acmerun"] / this["nornir"])
            common.say(
                f"  round {round_ + 1}: acmerun {this['acmerun']:.2f} s, "
                f"nornir {this['nornir']:.2f} s, ratio {ratios[-1]:.3f}"
            )
    ratio = common.summary(ratios)
    figures = {
        "devices": devices,
        "workers": workers,
        "calls_per_host": 3,
        "runs": runs,
        "acmerun_wall_s": common.summary(walls["acmerun"]),
        "nornir_wall_s": common.summary(walls["nornir"]),
        "acmerun_cpu_s": common.summary(cpu["acmerun"]),
        "nornir_cpu_s": common.summary(cpu["nornir"]),
        "acmerun_peak_rss_mib": common.summary(rss["acmerun"]),
        "nornir_peak_rss_mib": common.summary(rss["nornir"]),
        "ratio": ratio,
        "goal": f"ratio <= {GOAL}",
        "met": ratio["median"] <= GOAL,
        "raw": {"wall": walls, "cpu": cpu, "ratios": ratios},
    }
    common.say(
        f"{devices} devices, {workers} workers: acmerun {common.fmt(figures['acmerun_wall_s'])}, "
        f"nornir {common.fmt(figures['nornir_wall_s'])}, ratio {common.fmt(ratio, '', 3)}; "
        f"CPU acmerun {common.fmt(figures['acmerun_cpu_s'])}, "
        f"nornir {common.fmt(figures['nornir_cpu_s'])} "
        f"(goal <= {GOAL}: {'met' if figures['met'] else 'NOT met'})"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="848,10000", help="fleet sizes: 848 and/or 10000")
    parser.add_argument("--runs", type=int, default=5, help="rounds per size (848 devices)")
    parser.add_argument("--runs-large", type=int, default=3, help="rounds at 10,000 devices")
    parser.add_argument("--workers", type=int, default=50)
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    unknown = [size for size in sizes if size not in LABS]
    if unknown:
        parser.error(f"sizes must be among {sorted(LABS)}, not {unknown}")
    figures = {
        str(size): measure(
            size, options.runs if size < 10_000 else options.runs_large, options.workers
        )
        for size in sizes
    }
    common.emit("vs_nornir", {"sizes": figures})


if __name__ == "__main__":
    main()
