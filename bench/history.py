"""The run history's cost: a 10,000-device three-call run with and without it.

One lab of ``--sites 8 --leaves 1244`` (10,000 devices) serves every round; each
round runs ``acmerun bench/runbooks/three-calls.yml --quiet`` twice, alternately
with ``--no-history`` and with a history file, so that both sides of the ratio ran
under the same load. Wall-clock differences of a few tenths of a second drown in a
shared machine's noise, so the history's own work is also timed in this process:
the last run's outcome (read back from the history) made into an entry (masked,
report compressed) and written to a fresh file, several times. Goal (DESIGN.md):
journal, history and event stream together at most 3% of a run.

    .venv/bin/python bench/history.py [--runs 3] [--workers 50]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
import zlib
from pathlib import Path

import common

from acmerun.history import History
from acmerun.history.entry import make_entry
from acmerun.report.json import outcome_from_report

SITES, LEAVES = 8, 1244
GOAL = 0.03


def acmerun(lab: common.Lab, workers: int, *history: str) -> float:
    command = [common.ACMERUN, str(common.RUNBOOKS / "three-calls.yml"), "--quiet"]
    command += ["--workers", str(workers), *history]
    return common.run_timed(command, lab.env()).check("acmerun " + " ".join(history)).wall


def own_cost(history: Path, rounds: int = 5) -> dict[str, object]:
    """The history's work for the last run recorded, timed here: entry made, then written."""
    with sqlite3.connect(history) as db:
        (blob,) = db.execute("SELECT report FROM runs ORDER BY started DESC LIMIT 1").fetchone()
    db.close()
    text = zlib.decompress(blob).decode()
    outcome, code = outcome_from_report(json.loads(text))
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(rounds):
            started = time.perf_counter()
            entry = make_entry(outcome, code, runbook_sha256="0" * 64, options={}, secrets=())
            with History.open(Path(folder) / f"h{n}.sqlite") as fresh:
                fresh.add(entry)
            times.append(time.perf_counter() - started)
        file_bytes = (Path(folder) / "h0.sqlite").stat().st_size
    return {
        "record_s": common.summary(times),
        "report_bytes": len(text),
        "compressed_bytes": len(blob),
        "file_bytes_per_run": file_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=50)
    options = parser.parse_args()
    devices = common.fleet_size(SITES, LEAVES)
    common.say(f"{devices} devices, 3 calls, {options.workers} workers, {options.runs} rounds")
    rounds = []
    with tempfile.TemporaryDirectory() as folder, common.Lab(SITES, LEAVES) as lab:
        history = Path(folder) / "history.sqlite"
        for _ in range(options.runs):
            without = acmerun(lab, options.workers, "--no-history")
            with_it = acmerun(lab, options.workers, "--history", str(history))
            rounds.append({"without_s": without, "with_s": with_it, "ratio": with_it / without})
            common.say(f"  without {without:.2f} s, with {with_it:.2f} s: {with_it / without:.3f}")
        cost = own_cost(history)
    record = cost["record_s"]
    assert isinstance(record, dict)
    without_median = common.summary([r["without_s"] for r in rounds])["median"]
    share = record["median"] / without_median
    figures: dict[str, object] = {
        "devices": devices,
        "workers": options.workers,
        "runs": options.runs,
        "without_s": common.summary([r["without_s"] for r in rounds]),
        "with_s": common.summary([r["with_s"] for r in rounds]),
        "ratio": common.summary([r["ratio"] for r in rounds]),
        **cost,
        "record_share": share,
        "goal": f"history <= {GOAL:.0%} of the run",
        "met": share <= GOAL,
        "raw": rounds,
    }
    common.say(
        f"history's own work {common.fmt(record)} = {share:.1%} of a run; "
        f"report {cost['report_bytes']} bytes, kept {cost['compressed_bytes']}"
    )
    common.emit("history", figures)


if __name__ == "__main__":
    main()
