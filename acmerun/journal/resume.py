"""Continuing a run that died: the hosts it finished kept, the devices it left in flight waited for.

A run's ``run_start`` event names what shapes it (``run_fields``); ``acmerun
resume`` rebuilds the same options from it (``options_from``). Before any host
runs again, every device that was in flight when the run died is waited for
(``settle``): until it answers and runs no install, so a device still rebooting
counts as down for its redundancy group and no other device of the group is
taken down meanwhile. A device that does not come back is reported unreachable,
and the rest of its group is not run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nornir.core.task import Result, Task

from acmerun.acmeos.defaults import MASK
from acmerun.acmeos.errors import AcmeOSError, CommandError, RebootTimeout
from acmerun.config import load_config
from acmerun.errors import BadOptions, Refused
from acmerun.journal.state import JournalState, runbook_digest
from acmerun.outcome import FAILURES, HostOutcome, NotRun, NotRunKind, Status, over_failure_limit
from acmerun.plugins.connections.acmeos import CONNECTION_NAME
from acmerun.plugins.tasks.acmeos import REBOOT_TIMEOUT
from acmerun.results import host_outcome
from acmerun.runbook.model import Runbook
from acmerun.secrets import Secrets, secret_looking
from acmerun.session.options import RunOptions
from acmerun.session.record import PreparedRun
from acmerun.stop import StopToken

#: how long ``settle`` waits between two looks at a device that is down or installing (seconds):
#: the first pause, doubled each time up to the last
SETTLE_PAUSE = 0.2
SETTLE_MAX_PAUSE = 1.0
#: how long ``settle`` waits for a device in flight when the run died (seconds)
SETTLE_TIMEOUT = REBOOT_TIMEOUT


def digest(runbook: Runbook) -> str:
    """The sha256 of the runbook's file and of the files it includes."""
    includes = [s.include for s in runbook.all_steps() if s.include]
    return runbook_digest(Path(runbook.path), includes)


def run_fields(run: PreparedRun) -> dict[str, Any]:
    """What the ``run_start`` (and ``resume``) event says of a run."""
    options = run.options
    return {
        "run_id": run.run_id,
        "runbook": str(Path(run.runbook.path).resolve()),
        "sha256": digest(run.runbook),
        "name": run.runbook.name,
        "check": options.check,
        "target": run.target,
        "options": {
            "limit": options.limit,
            "extra_vars": {
                k: MASK if secret_looking(k) else v for k, v in options.extra_vars.items()
            },
            "tags": list(options.tags),
            "skip_tags": list(options.skip_tags),
            "workers": options.workers,
            "auth_failure_limit": options.auth_failure_limit,
            "lab": options.lab,
            "cluster": options.cluster,
            "shard_by": options.shard_by,
            "config": str(options.config.path) if options.config.path is not None else None,
        },
        "hosts": list(run.selected),
    }


def options_from(
    state: JournalState, extra_vars: Mapping[str, Any], secrets: Secrets, **outputs: Any
) -> RunOptions:
    """The options of the run ``state`` tells of, with this command's outputs (reports, -q...).

    An ``-e`` value the journal holds masked (a secret) must be given again in
    ``extra_vars``; ``BadOptions`` otherwise.
    """
    given = state.start.get("options") or {}
    variables = dict(given.get("extra_vars") or {})
    for name, value in variables.items():
        if name not in extra_vars and _masked(value):
            raise BadOptions(
                f"run {state.run_id} was given a secret -e {name}: give it again "
                f"(acmerun resume {state.run_id} -e {name}=...)"
            )
    variables.update(extra_vars)
    config_path = given.get("config")
    config = load_config(config_path) if config_path else load_config(None)
    secrets.add(config.password)
    return RunOptions(
        runbook=Path(state.runbook),
        limit=given.get("limit"),
        extra_vars=variables,
        tags=tuple(given.get("tags") or ()),
        skip_tags=tuple(given.get("skip_tags") or ()),
        workers=given.get("workers"),
        auth_failure_limit=given.get("auth_failure_limit"),
        lab=bool(given.get("lab")),
        cluster=given.get("cluster"),
        shard_by=str(given.get("shard_by") or "site"),
        config=config,
        secrets=secrets,
        resume=state.run_id,
        **outputs,
    )


def _masked(value: Any) -> bool:
    if isinstance(value, str):
        return MASK in value
    if isinstance(value, Mapping):
        return any(_masked(v) for v in value.values())
    if isinstance(value, list):
        return any(_masked(v) for v in value)
    return False


def check_resumable(state: JournalState, run: PreparedRun) -> None:
    """``Refused`` (exit 8) unless the run may go on: unfinished, same runbook, same hosts."""
    if state.finished:
        raise Refused(
            f"run {state.run_id} finished (exit code {state.exit_code}): nothing to resume"
        )
    if state.start.get("sha256") != digest(run.runbook):
        raise Refused(
            f"run {state.run_id}: {state.runbook} changed since the run started; "
            "nothing was run (start a new run)"
        )
    before, now = set(state.hosts), set(run.selected)
    if before != now:
        raise Refused(
            f"run {state.run_id}: the inventory now selects other hosts "
            f"({len(now - before)} new, {len(before - now)} gone); nothing was run"
        )


def settle(task: Task, timeout: float, stop: StopToken) -> Result:
    """Wait until the device answers and runs no install (one a run that died started).

    An install of the version the device runs changes nothing (``unchanged``) and is
    refused (``busy``) while an install runs: that is how a running install is seen.
    """
    give_up = time.monotonic() + timeout
    pause = SETTLE_PAUSE
    while True:
        left = give_up - time.monotonic()
        if left <= 0:
            raise RebootTimeout(timeout)
        try:
            device = task.host.get_connection(CONNECTION_NAME, task.nornir.config)
            device.wait_until_up(left)
            version = device.get_version()["full_version"]
            device.install_os_version(version)
        except CommandError as error:
            if error.code != "busy":
                raise
        except AcmeOSError as error:
            if not error.unreachable:
                raise
            task.host.close_connections()
        else:
            return Result(host=task.host, result=version)
        if stop.wait_interrupted(min(pause, max(0.0, give_up - time.monotonic()))):
            raise RebootTimeout(timeout)
        pause = min(pause * 2, SETTLE_MAX_PAUSE)


def settle_in_flight(
    run: PreparedRun, hosts: Iterable[str], timeout: float = SETTLE_TIMEOUT
) -> dict[str, HostOutcome]:
    """Wait for the devices in flight when the run died; the outcome of each that did not settle.

    A device that never answered is unreachable (failed for another error); one the
    run's stop kept from being waited for is not run, and stays in flight in the journal.
    """
    wanted = set(hosts)
    if not wanted:
        return {}
    nr = run.nornir.filter(filter_func=lambda h: h.name in wanted)
    results = nr.run(task=settle, name="wait for the device", timeout=timeout, stop=run.stop)
    failed: dict[str, HostOutcome] = {}
    for name, result in results.items():
        seen = host_outcome(name, result)
        if seen.not_run is not None:  # the run stopped first (a signal): still in flight
            failed[name] = _never(run, name, seen.not_run)
            continue
        if not result.failed:
            continue
        error = next((r.exception for r in result if r.exception is not None), None)
        text = " ".join(str(error).split()) if error is not None else "no answer"
        unreachable = error is None or getattr(error, "unreachable", False) is True
        failed[name] = HostOutcome(
            name=name,
            status=Status.UNREACHABLE if unreachable else Status.FAILED,
            error=f"did not settle after the run that died: {text}",
            group=run.groups.get(name, ""),
        )
    return failed


def halted(
    run: PreparedRun, kept: Mapping[str, HostOutcome], down: Iterable[str] = ()
) -> dict[str, HostOutcome]:
    """The hosts not run because of a host already done that failed (its group, or all).

    A device in ``down`` (it never came back) halts its group whatever ``on_failure``.
    """
    down = set(down)
    failures = [h for h in kept.values() if h.status in FAILURES]
    if not failures:
        return {}
    found: dict[str, HostOutcome] = {}
    settings = run.runner
    rest = [h for h in run.selected if h not in kept]
    crossed = _limit_crossed(run, len(failures))
    if crossed is not None:
        return {h: _never(run, h, crossed) for h in rest}
    if settings.rolling and settings.on_failure == "halt_all":
        first = failures[0]
        reason = NotRun(
            NotRunKind.HALTED_FLEET,
            host=first.name,
            unreachable=first.status is Status.UNREACHABLE,
        )
        return {h: _never(run, h, reason) for h in rest}
    by_group: dict[str, HostOutcome] = {}
    for host in failures:
        group = run.groups.get(host.name, "")
        if group and (
            host.name in down or (settings.rolling and settings.on_failure == "halt_group")
        ):
            by_group.setdefault(group, host)
    for name in rest:
        cause = by_group.get(run.groups.get(name, ""))
        if cause is not None:
            reason = NotRun(
                NotRunKind.HALTED_GROUP,
                host=cause.name,
                group=run.groups[name],
                unreachable=cause.status is Status.UNREACHABLE,
            )
            found[name] = _never(run, name, reason)
    return found


def _limit_crossed(run: PreparedRun, failed: int) -> NotRun | None:
    """Why no host may start any more, when the run's failures so far crossed a limit."""
    limit, most = run.runner.max_fail_percentage, run.runner.max_failed_in_batch
    if limit is not None and over_failure_limit(limit, failed, len(run.selected)):
        return NotRun.failure_limit(limit, failed, len(run.selected))
    if most is not None and failed > most:
        return NotRun(NotRunKind.FAILED_COUNT, limit=most, failed=failed)
    return None


def _never(run: PreparedRun, name: str, reason: NotRun) -> HostOutcome:
    outcome = HostOutcome.never_run(name, reason)
    outcome.group = run.groups.get(name, "")
    return outcome
