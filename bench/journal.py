"""The journal's and the event stream's cost: the 10,000-device three-call run, with and without.

One 10,000-device lab serves every run. Each round runs ``three-calls.yml`` with
50 workers twice, in turn: "without" is acmerun as it was before the journal
(``--base``, the tree of that commit, extracted with ``git archive``), "with" is
this tree writing its journal (fsync'd) and ``--events FILE``. The ratio is taken
per round, so both sides of it ran under the same load. Goal: at most 1.03.

    .venv/bin/python bench/journal.py [--runs 5] [--base REV]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

import common

SITES, LEAVES = 8, 1244
GOAL = 1.03


def base_commit() -> str:
    """The commit before the journal came: the parent of the one that added it."""
    added = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "--", "acmerun/journal/log.py"],
        cwd=common.ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return f"{added[-1]}^"


def extract(rev: str, folder: Path) -> None:
    """The ``acmerun`` package of ``rev`` into ``folder``."""
    archive = subprocess.run(
        ["git", "archive", rev, "acmerun"], cwd=common.ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--base", default=None, help="the commit to compare with")
    options = parser.parse_args()
    base = options.base or base_commit()
    with tempfile.TemporaryDirectory() as tmp:
        old, state = Path(tmp) / "base", Path(tmp) / "state"
        old.mkdir()
        state.mkdir()
        extract(base, old)
        runbook = str(common.RUNBOOKS / "three-calls.yml")
        args = [runbook, "--workers", str(options.workers), "--quiet"]
        rounds = []
        with common.Lab(SITES, LEAVES) as lab:
            common.say(f"{lab.devices} devices, base {base}")
            for n in range(options.runs):
                env = lab.env(ACMERUN_STATE_DIR=str(state))
                without = common.run_timed(
                    [common.PYTHON, "-m", "acmerun", *args], {**env, "PYTHONPATH": str(old)}
                ).check("acmerun without the journal")
                events = Path(tmp) / f"events-{n}.jsonl"
                with_ = common.run_timed(
                    [common.PYTHON, "-m", "acmerun", *args, "--events", str(events)],
                    {**env, "PYTHONPATH": str(common.ROOT)},
                ).check("acmerun with the journal and --events")
                lines = sum(1 for _ in events.open())
                journal = sum(1 for _ in next(iter((state / "journal").glob("*.jsonl"))).open())
                for path in (state / "journal").glob("*.jsonl"):
                    path.unlink()
                rounds.append(
                    {
                        "without_s": without.wall,
                        "with_s": with_.wall,
                        "ratio": with_.wall / without.wall,
                        "without_cpu_s": without.cpu,
                        "with_cpu_s": with_.cpu,
                        "event_lines": lines,
                        "journal_lines": journal,
                    }
                )
                common.say(
                    f"  without {without.wall:.2f} s, with {with_.wall:.2f} s "
                    f"(ratio {with_.wall / without.wall:.3f}; {lines} event lines)"
                )
            os.environ.pop("ACMERUN_STATE_DIR", None)
    figures: dict[str, object] = {
        "devices": common.fleet_size(SITES, LEAVES),
        "workers": options.workers,
        "runs": options.runs,
        "base": base,
    }
    for key in rounds[0]:
        figures[key] = common.summary([r[key] for r in rounds])
    ratio = figures["ratio"]
    assert isinstance(ratio, dict)
    figures["goal"] = f"ratio <= {GOAL}"
    figures["met"] = ratio["median"] <= GOAL
    figures["raw"] = rounds
    common.say(f"ratio {common.fmt(ratio, '')}: {'met' if figures['met'] else 'NOT met'}")
    common.emit("journal", figures)


if __name__ == "__main__":
    main()
