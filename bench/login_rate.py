"""The login rate's overhead: the 10,000-device three-call run with a rate that never binds.

One lab of ``--sites 8 --leaves 1244`` (10,000 devices); each round runs
``acmerun bench/runbooks/three-calls.yml --workers 50 --quiet`` twice against
it, alternately without a rate and with ``--connect-rate 100000`` (the highest) (far above
the run's own login rate, so no login ever waits: every one still takes and
gives back its permit). The ratios (wall and CPU time) are taken per round.
Goal: with the rate, at most 3 % slower (wall ratio <= 1.03). On a busy machine
the CPU ratio says more than the wall ratio; the cost of one permit is also
timed in this process (one thread, then 50 threads taking permits at once).

    .venv/bin/python bench/login_rate.py [--runs 5] [--workers 50]
"""

from __future__ import annotations

import argparse
import threading
import time

import common

from acmerun.plugins.connections.rate import LoginRate

SITES, LEAVES = 8, 1244
RATE = 100_000
GOAL = 1.03


def timed(lab: common.Lab, workers: int, *options: str) -> common.Timed:
    command = [
        common.ACMERUN,
        str(common.RUNBOOKS / "three-calls.yml"),
        "--workers",
        str(workers),
        "--quiet",
        *options,
    ]
    return common.run_timed(command, lab.env()).check("acmerun " + " ".join(options))


def permit_cost(threads: int, permits: int = 200_000) -> float:
    """CPU microseconds of one ``login()`` permit taken and given back, ``threads`` at once."""
    rate = LoginRate(RATE * 10)
    each = permits // threads

    def take() -> None:
        for _ in range(each):
            with rate.login():
                pass

    workers = [threading.Thread(target=take) for _ in range(threads)]
    started = time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return (time.process_time() - started) / (each * threads) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=50)
    options = parser.parse_args()
    devices = common.fleet_size(SITES, LEAVES)
    common.say(f"{devices} devices, 3 calls, {options.workers} workers, rate {RATE}/s")
    plain: list[float] = []
    limited: list[float] = []
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    with common.Lab(SITES, LEAVES) as lab:
        timed(lab, options.workers)  # a warm-up: the first run pays for cold caches
        for number in range(options.runs):
            # alternate which goes first, so neither side always runs on a warmer machine
            if number % 2:
                rated = timed(lab, options.workers, "--connect-rate", str(RATE))
                bare = timed(lab, options.workers)
            else:
                bare = timed(lab, options.workers)
                rated = timed(lab, options.workers, "--connect-rate", str(RATE))
            plain.append(bare.wall)
            limited.append(rated.wall)
            ratios.append(rated.wall / bare.wall)
            cpu_ratios.append(rated.cpu / bare.cpu)
            common.say(
                f"  round {number + 1}: without {bare.wall:.2f} s ({bare.cpu:.2f} s CPU), "
                f"with the rate {rated.wall:.2f} s ({rated.cpu:.2f} s CPU), "
                f"ratio {ratios[-1]:.3f} (CPU {cpu_ratios[-1]:.3f})"
            )
    costs = {f"{n}_threads_us": permit_cost(n) for n in (1, 50)}
    common.say(
        "  one permit: {1_threads_us:.2f} us alone, {50_threads_us:.2f} us with 50 threads".format(
            **costs
        )
    )
    figures: dict[str, object] = {
        "devices": devices,
        "workers": options.workers,
        "connect_rate": RATE,
        "runs": options.runs,
        "without_rate_s": common.summary(plain),
        "with_rate_s": common.summary(limited),
        "ratio": common.summary(ratios),
        "cpu_ratio": common.summary(cpu_ratios),
        "permit_us": costs,
        "goal": f"ratio <= {GOAL}",
    }
    ratio = figures["ratio"]
    assert isinstance(ratio, dict)
    figures["met"] = ratio["median"] <= GOAL
    common.say(f"ratio {common.fmt(ratio, '', 3)}: {'met' if figures['met'] else 'NOT met'}")
    common.emit("login_rate", figures)


if __name__ == "__main__":
    main()
