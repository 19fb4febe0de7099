"""``acmerun plan`` and ``acmerun apply``, start to end, on ``session.run.execute``."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from acmerun.errors import BadOptions, ExitCode
from acmerun.plan.check import check_age, check_options, check_runbook, max_age
from acmerun.plan.document import build, load, runbook_files
from acmerun.plan.state import applying_guard, planning_guard
from acmerun.plan.summary import pending, summary_lines
from acmerun.session.options import RunOptions
from acmerun.session.run import RunResult, execute

#: the suffix of a plan file acmerun names itself
PLAN_SUFFIX = ".plan.json"


def check_plan_path(output: Path | None, options: RunOptions) -> None:
    """The plan's file (or, by default, the current directory) is writable: exit 5 if not."""
    folder = output.parent if output is not None else Path.cwd()
    what = "-o" if output is not None else "the current directory"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadOptions(f"{what}: cannot create {folder}: {exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadOptions(f"{what}: cannot write in {folder}")
    if output is None:
        return
    try:
        st = output.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BadOptions(f"-o: cannot use {output}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise BadOptions(f"-o: {output} is a directory; name a file to write the plan to")
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISLNK(st.st_mode):
        raise BadOptions(f"-o: {output} is not a regular file; name a file to write the plan to")
    if options.runbook.exists() and os.path.samefile(output, options.runbook):
        raise BadOptions(f"-o: {output} is the runbook; it would be overwritten")


def _plan_options(options: RunOptions) -> dict[str, Any]:
    return {
        "limit": options.limit,
        "tags": list(options.tags),
        "skip_tags": list(options.skip_tags),
        "lab": options.lab,
    }


def make_plan(
    options: RunOptions, output: Path | None, out: TextIO | None = None, err: TextIO | None = None
) -> RunResult:
    """Run ``options``' runbook in check mode and write its plan; 0 nothing to change, 6 changes.

    A failed or unreachable host is in the plan as not planned (apply leaves it), and
    the exit code is the run's (2, 3); an interrupted run writes no plan (99).
    """
    from acmerun.report.atomic import timestamped_stem, write_atomic, write_atomic_new

    out = out or sys.stdout
    runbook = options.runbook.resolve()
    options = dataclasses.replace(
        options,
        runbook=runbook,
        check=True,
        detailed_exitcode=True,
        quiet=True,
        guard=planning_guard(),
    )
    check_plan_path(output, options)
    result = execute(options, out, err)
    if result.outcome is None or result.exit_code == ExitCode.INTERRUPTED:
        return result
    outcome = result.outcome
    from acmerun.runbook.loader import load_runbook

    steps = load_runbook(str(runbook), options.extra_vars).all_steps()
    plan = build(
        outcome,
        runbook=runbook,
        includes=runbook_files(runbook, steps),
        options=_plan_options(options),
        extra_vars=options.extra_vars,
        secrets=options.secrets,
    )
    text = json.dumps(plan, indent=1) + "\n"
    if output is not None:
        written = write_atomic(output, text)
    else:
        stem = timestamped_stem(str(runbook), outcome.started)
        written = write_atomic_new(Path.cwd(), stem, PLAN_SUFFIX, text)
    print(options.secrets.mask(outcome.target), file=out)
    for line in summary_lines(plan):
        print(options.secrets.mask(line), file=out)
    print(f"plan written to {written}; apply it with: acmerun apply {written}", file=out)
    code = result.exit_code
    if code not in (ExitCode.HOST_FAILED, ExitCode.HOST_UNREACHABLE):
        code = int(ExitCode.CHANGES_PENDING if pending(plan) else ExitCode.OK)
    return RunResult(code, outcome, abandoned=result.abandoned)


def apply_plan(
    path: Path,
    given: Mapping[str, Any],
    options: RunOptions,
    max_plan_age: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Check the plan in ``path`` (exit 5 if it is none, 8 if it no longer matches), then run it.

    ``given``: the run-shaping options typed with ``apply`` (each must be the plan's);
    ``options``: the rest (reports, workers, config...). Only the hosts with changes
    pending in the plan are run, each first checked against its planned state.
    """
    out = out or sys.stdout
    plan = load(path)
    limit, limit_text = max_age(max_plan_age)
    check_age(plan, limit, limit_text, now or datetime.now(timezone.utc))
    runbook = Path(plan["runbook"]["path"])
    check_runbook(plan, runbook)
    values = check_options(plan, given)
    for name in plan["options"]["secret_extra_vars"]:
        options.secrets.add(
            json.dumps(values[name]) if not isinstance(values[name], str) else values[name]
        )
    hosts = pending(plan)
    if not hosts:
        print(f"{path}: nothing to apply: the plan has no change pending", file=out)
        return RunResult(int(ExitCode.OK))
    recorded = plan["options"]
    states = {name: plan["hosts"][name]["state"] for name in hosts}
    run = dataclasses.replace(
        options,
        runbook=runbook,
        check=False,
        limit=recorded["limit"],
        extra_vars=values,
        tags=tuple(recorded["tags"]),
        skip_tags=tuple(recorded["skip_tags"]),
        lab=bool(recorded["lab"]),
        guard=applying_guard(states),
        only_hosts=tuple(hosts),
    )
    result = execute(run, out, err)
    if result.outcome is not None:
        gone = [n for n in hosts if n not in result.outcome.hosts]
        if gone:
            shown = ", ".join(gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
            print(
                f"acmerun: {len(gone)} planned hosts are no longer selected, not run: {shown}",
                file=out,
            )
    return result
