"""Start-up: ``acmerun --help`` and ``acmerun validate runbooks/``, many runs each.

Cron runs pay start-up on every run. Like hyperfine: a few warm-up runs, then
``--runs`` timed runs of each command, interleaved; median, min and max of the
wall time from process start to exit. Goal: median < 0.3 s for each.

    .venv/bin/python bench/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse

import common

GOAL = 0.3
COMMANDS = {
    "acmerun --help": [common.ACMERUN, "--help"],
    "acmerun validate runbooks/": [common.ACMERUN, "validate", "runbooks/"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    options = parser.parse_args()
    for _ in range(options.warmup):
        for name, command in COMMANDS.items():
            common.run_timed(command).check(name)
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(options.runs):
        for name, command in COMMANDS.items():
            walls[name].append(common.run_timed(command).check(name).wall)
    figures: dict[str, object] = {"runs": options.runs, "goal": f"median < {GOAL} s"}
    commands: dict[str, object] = {}
    for name, values in walls.items():
        stats = common.summary(values)
        met = stats["median"] < GOAL
        commands[name] = {"wall_s": stats, "met": met, "raw": values}
        common.say(
            f"{name}: {common.fmt(stats, 's', 3)} (goal < {GOAL} s: {'met' if met else 'NOT met'})"
        )
    figures["commands"] = commands
    figures["met"] = all(entry["met"] for entry in commands.values())  # type: ignore[index]
    common.emit("startup", figures)


if __name__ == "__main__":
    main()
