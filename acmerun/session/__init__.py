"""One run: its options, its record, its executors, its exit code and reports.

options.py    RunOptions: the command line's options
record.py     PreparedRun (the run as data) and the Executor protocol
prepare.py    runbook compiled, target resolved, hosts selected -> PreparedRun
target.py     the inventory service (the settings table), the embedded lab
inventory.py  nornir built over the run's hosts (also for a cluster's shards)
local.py      the local executor: threads, live progress
signals.py    SIGINT/SIGTERM on the run's stop token
exit.py       the exit code of a run that ran
reporting.py  the reports, chosen in one place, and the recap
outputs.py    output paths checked before the run
history.py    the run recorded in the history; the hosts --rerun-failed runs again
run.py        execute(): the orchestration
"""

from __future__ import annotations

from acmerun.session.options import RunOptions
from acmerun.session.record import Executor, PreparedRun
from acmerun.session.run import RunResult, execute

__all__ = ["Executor", "PreparedRun", "RunOptions", "RunResult", "execute"]
