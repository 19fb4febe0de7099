"""What a run records, and its cost: the journal, the event stream and the history together.

One 10,000-device lab serves every run. Each round runs ``three-calls.yml``
(``--quiet``, 50 workers) twice with this tree, in an order that alternates from
round to round:

- "with": as every run that can change devices is, with its journal (fsync'd in
  ``STATE_DIR/journal``), its history (``--history FILE``) and ``--events FILE``;
- "without": ``--no-history`` and no ``--events``, and the journal turned off by a
  ``sitecustomize`` on ``PYTHONPATH`` that makes ``run_events`` hand the run back
  untouched (acmerun itself has no switch for it: a run that can change devices
  always keeps its journal).

The ratio of wall times (and of CPU seconds) is taken per round, so both sides
ran under the same load. Goal: the three together at most 3 % of the
run. Beside it, the history's own work timed in this process (``history.py``'s
figure), which no load between two runs blurs.

    .venv/bin/python bench/records.py [--runs 5] [--workers 50]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import common
from history import own_cost

SITES, LEAVES = 8, 1244
GOAL = 1.03

#: loaded at start-up by the "without" runs: ``run_events`` gives the run back as it is
SHIM = """\
import contextlib
import importlib.abc
import importlib.machinery
import sys

NAME = "acmerun.session.events"


class _Off(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != NAME:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        real = spec.loader.exec_module

        def exec_module(module):
            real(module)

            @contextlib.contextmanager
            def run_events(run):
                yield run, None

            module.run_events = run_events

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Off())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=50)
    options = parser.parse_args()
    runbook = str(common.RUNBOOKS / "three-calls.yml")
    args = [common.ACMERUN, runbook, "--workers", str(options.workers), "--quiet"]
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shim, state = folder / "shim", folder / "state"
        shim.mkdir()
        state.mkdir()
        (shim / "sitecustomize.py").write_text(SHIM)
        history = folder / "history.sqlite"
        with common.Lab(SITES, LEAVES) as lab:
            common.say(f"{lab.devices} devices, {options.workers} workers, {options.runs} rounds")
            env = lab.env(ACMERUN_STATE_DIR=str(state))
            for n in range(options.runs):
                events = folder / f"events-{n}.jsonl"
                commands = {
                    "without": ([*args, "--no-history"], {**env, "PYTHONPATH": str(shim)}),
                    "with": ([*args, "--history", str(history), "--events", str(events)], env),
                }
                order = ["without", "with"] if n % 2 == 0 else ["with", "without"]
                runs = {
                    side: common.run_timed(*commands[side]).check(f"acmerun {side} the records")
                    for side in order
                }
                journals = list((state / "journal").glob("*.jsonl"))
                if len(journals) != 1:
                    raise RuntimeError(f"round {n}: {len(journals)} journals, not the one run's")
                journal_lines = sum(1 for _ in journals[0].open())
                journals[0].unlink()
                without, with_ = runs["without"], runs["with"]
                rounds.append(
                    {
                        "without_s": without.wall,
                        "with_s": with_.wall,
                        "ratio": with_.wall / without.wall,
                        "without_cpu_s": without.cpu,
                        "with_cpu_s": with_.cpu,
                        "cpu_ratio": with_.cpu / without.cpu,
                        "event_lines": sum(1 for _ in events.open()),
                        "journal_lines": journal_lines,
                    }
                )
                common.say(
                    f"  without {without.wall:.2f} s, with {with_.wall:.2f} s: "
                    f"{with_.wall / without.wall:.3f} (CPU {with_.cpu / without.cpu:.3f})"
                )
            cost = own_cost(history)
    figures: dict[str, object] = {
        "devices": common.fleet_size(SITES, LEAVES),
        "workers": options.workers,
        "runs": options.runs,
    }
    figures.update(common.summaries(rounds))
    ratio, record = figures["ratio"], cost["record_s"]
    assert isinstance(ratio, dict) and isinstance(record, dict)
    without = figures["without_s"]
    assert isinstance(without, dict)
    figures["history_record_s"] = record
    figures["history_share"] = record["median"] / without["median"]
    figures["goal"] = f"ratio <= {GOAL}"
    figures["met"] = ratio["median"] <= GOAL
    figures["raw"] = rounds
    common.say(
        f"ratio {common.fmt(ratio, '', 3)}: {'met' if figures['met'] else 'NOT met'}; "
        f"the history's own work {common.fmt(record)}"
    )
    common.emit("records", figures)


if __name__ == "__main__":
    main()
