"""One run of a runbook, start to end: ``execute(RunOptions(runbook=...))``.

What ``acmerun RUNBOOK`` does, callable from Python too: load and compile the
runbook, check the output paths, take the runbook's lock, prepare the run (target,
hosts), hand it to an executor (local threads by default), and report it. Expected
problems are raised as ``acmerun.errors`` exceptions for the caller to report.

SIGINT and SIGTERM: the first stops the run (no new host starts; hosts in flight
finish their step), the reports are written with the hosts that never started
marked ``interrupted``, and the exit code is 99; a second stops waiting for the
hosts in flight.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TextIO

from acmerun.errors import BadOptions, ExitCode, ReportNotWritten
from acmerun.lock import RunbookLock
from acmerun.logs import run_logging
from acmerun.outcome import FAILURES, HostOutcome, NotRunKind, RunOutcome
from acmerun.secrets import printable
from acmerun.session.exit import exit_code
from acmerun.session.options import RunOptions
from acmerun.session.outputs import check_report_paths
from acmerun.session.prepare import compile_for, prepare
from acmerun.session.record import Executor, PreparedRun
from acmerun.session.reporting import report
from acmerun.session.signals import stop_on_signals
from acmerun.session.target import stop_embedded_lab
from acmerun.stop import StopToken

if TYPE_CHECKING:
    from acmerun.journal.state import JournalState

logger = logging.getLogger("acmerun")


@dataclass
class RunResult:
    """How a run ended: its exit code and, when hosts were run, its outcome."""

    exit_code: int
    outcome: RunOutcome | None = None
    #: True when a second signal stopped the wait: hosts may still be in flight in this process
    abandoned: bool = False


def execute(
    options: RunOptions,
    out: TextIO | None = None,
    err: TextIO | None = None,
    executor: Executor | None = None,
) -> RunResult:
    """Run the runbook as ``options`` say and report it; the exit code follows DESIGN.md."""
    from acmerun.runbook.loader import load_runbook

    out = out or sys.stdout
    err = err or sys.stderr
    if options.detailed_exitcode and not options.check:
        raise BadOptions("--detailed-exitcode only has a meaning with --check")
    stop = StopToken()
    with run_logging(options.log_file, options.secrets, err), stop_on_signals(err, stop):
        runbook = load_runbook(str(options.runbook), options.extra_vars)
        compiled = compile_for(runbook, options, stop)
        if options.list_steps:
            for line in compiled.step_lines():
                print(line, file=out)
            return RunResult(int(ExitCode.OK))
        if options.list_hosts:
            run = prepare(runbook, compiled, options, stop)
            stop_embedded_lab(run.inventory)
            for name in run.selected:
                print(name, file=out)
            return RunResult(int(ExitCode.OK))
        check_report_paths(options)
        with RunbookLock(options.runbook, wait=options.wait_lock):
            run = prepare(runbook, compiled, options, stop)
            # imported here: the journal's modules read the session's records
            from acmerun.session.events import run_events

            try:
                with run_events(run) as (run, state):
                    return _run(run, executor, out, err, state)
            finally:
                _stop_lab(run, err)


def _run(
    run: PreparedRun,
    executor: Executor | None,
    out: TextIO,
    err: TextIO,
    state: JournalState | None,
) -> RunResult:
    options = run.options
    if not options.quiet:
        print(run.secrets.mask(run.target), file=out, flush=True)
    logger.info("run of %s started; %s", options.runbook, run.target)
    started = datetime.now(timezone.utc)
    run.stop.armed = True
    if executor is None:
        from acmerun.session.local import LocalExecutor

        executor = LocalExecutor()
    hosts = executor.execute(run, out) if state is None else _resume(run, executor, out, state)
    for name, host in hosts.items():
        host.group = host.group or run.groups.get(name, "")
    outcome = RunOutcome(
        runbook=str(options.runbook),
        name=run.runbook.name,
        check=options.check,
        started=started,
        ended=datetime.now(timezone.utc),
        hosts=hosts,
        target=run.target,
        interrupted=run.stop.interrupted,
        run_id=run.run_id,
        login_rate=run.logins.waited().to_dict() if run.logins is not None else None,
        batches=list(run.batches),
    )
    code = exit_code(outcome, detailed=options.detailed_exitcode)
    reason = run.stop.reason
    if reason is not None and reason.kind is NotRunKind.AUTH_LIMIT:
        from acmerun.session.target import credentials_to_check

        line = printable(run.secrets.mask(credentials_to_check(run, reason)))
        logger.warning("%s", line)
        print(f"acmerun: {line}", file=out, flush=True)
    for name in sorted(hosts):
        host = hosts[name]
        logger.info("host %s: %s%s", name, host.status, f": {host.error}" if host.error else "")
    logger.info("run of %s ended: %s, exit code %d", options.runbook, outcome.totals(), code)
    from acmerun.journal.log import EventLog

    if isinstance(run.events, EventLog):
        run.events.emit(
            "run_end", exit_code=code, totals=outcome.totals(), interrupted=outcome.interrupted
        )
    from acmerun.session.history import remember  # sqlite3 only once a run has run

    try:
        report(outcome, code, options, run.reports, run.secrets, out)
    except ReportNotWritten as exc:
        remember(run, outcome, int(exc.exit_code), err)
        raise
    remember(run, outcome, code, err)
    return RunResult(code, outcome, abandoned=run.stop.abandoned)


def _resume(
    run: PreparedRun, executor: Executor, out: TextIO, state: JournalState
) -> dict[str, HostOutcome]:
    """The hosts of a run that died: those done kept, those in flight waited for, the rest run."""
    from acmerun.journal.resume import halted, settle_in_flight

    kept = dict(state.done)
    waiting = sorted(h for h in state.in_flight if h not in kept)
    logger.info("resuming run %s: %d hosts done, %d in flight", run.run_id, len(kept), len(waiting))
    unsettled = settle_in_flight(run, waiting)
    down = {h for h, o in unsettled.items() if o.not_run is None}
    stopped = halted(run, {**kept, **unsettled}, down)
    for outcome in [*unsettled.values(), *stopped.values()]:
        if run.events is not None:
            run.events.host_ended(outcome)
    kept.update(unsettled)
    kept.update(stopped)
    rest = tuple(h for h in run.selected if h not in kept)
    hosts: dict[str, HostOutcome] = {}
    if rest:
        chosen = set(rest)
        part = replace(
            run,
            nornir=run.nornir.filter(filter_func=lambda h: h.name in chosen),
            selected=rest,
            failed_before=sum(1 for h in kept.values() if h.status in FAILURES),
            run_size=len(run.selected),
        )
        hosts = executor.execute(part, out)
    return {name: hosts.get(name) or kept[name] for name in run.selected}


def _stop_lab(run: PreparedRun, err: TextIO) -> None:
    """The embedded lab stops with the run; its state's troubles are a warning by then."""
    from acmerun.session.signals import say

    try:
        stop_embedded_lab(run.inventory)
    except Exception as exc:
        # the run itself is over: its reports and exit code matter more than the lab's state
        logger.warning("embedded lab: %s", exc)
        say(err, f"acmerun: warning: embedded lab: {run.secrets.mask(str(exc))}")
