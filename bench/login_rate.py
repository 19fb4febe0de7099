"""The login rate's overhead: the 10,000-device three-call run with a rate that never binds.

One lab of ``--sites 8 --leaves 1244`` (10,000 devices); each round runs
``acmerun bench/runbooks/three-calls.yml --workers 50 --quiet`` twice against
it, alternately without a rate and with ``--connect-rate 100000`` (the highest) (far above
the run's own login rate, so no login ever waits: every one still takes and
gives back its permit). The ratio is taken per round. Goal: with the rate,
at most 3 % slower (ratio <= 1.03).

    .venv/bin/python bench/login_rate.py [--runs 5] [--workers 50]
"""

from __future__ import annotations

import argparse

import common

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
    with common.Lab(SITES, LEAVES) as lab:
        timed(lab, options.workers)  # a warm-up: the first run pays for cold caches
        for number in range(options.runs):
            # alternate which goes first, so neither side always runs on a warmer machine
            if number % 2:
                with_rate = timed(lab, options.workers, "--connect-rate", str(RATE)).wall
                without = timed(lab, options.workers).wall
            else:
                without = timed(lab, options.workers).wall
                with_rate = timed(lab, options.workers, "--connect-rate", str(RATE)).wall
            plain.append(without)
            limited.append(with_rate)
            ratios.append(with_rate / without)
            common.say(
                f"  round {number + 1}: without {without:.2f} s, with the rate {with_rate:.2f} s, "
                f"ratio {ratios[-1]:.3f}"
            )
    figures: dict[str, object] = {
        "devices": devices,
        "workers": options.workers,
        "connect_rate": RATE,
        "runs": options.runs,
        "without_rate_s": common.summary(plain),
        "with_rate_s": common.summary(limited),
        "ratio": common.summary(ratios),
        "goal": f"ratio <= {GOAL}",
    }
    ratio = figures["ratio"]
    assert isinstance(ratio, dict)
    figures["met"] = ratio["median"] <= GOAL
    common.say(f"ratio {common.fmt(ratio, '', 3)}: {'met' if figures['met'] else 'NOT met'}")
    common.emit("login_rate", figures)


if __name__ == "__main__":
    main()
