"""Preparing a run: the runbook loaded and compiled, the target resolved, the hosts selected.

``prepare`` turns ``RunOptions`` into a ``PreparedRun``; every runbook or option
problem it finds is raised here, before any device is touched.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import TYPE_CHECKING

from acmerun.errors import BadOptions, Refused
from acmerun.plugins.runners.strategy import is_count
from acmerun.rollout import Batch
from acmerun.runbook.compiler import CompiledRunbook, compile_runbook
from acmerun.runbook.model import Runbook
from acmerun.session.inventory import init_nornir, login_rate, only_hosts, select_hosts
from acmerun.session.options import RunOptions
from acmerun.session.record import PreparedRun, ReportTargets, RunnerSettings
from acmerun.session.runid import new_run_id
from acmerun.session.target import credentials, describe, inventory_source, settings_inputs
from acmerun.settings import resolve
from acmerun.stop import StopToken

if TYPE_CHECKING:
    from nornir.core import Nornir
    from nornir.core.inventory import Host


def compile_for(runbook: Runbook, options: RunOptions, stop: StopToken) -> CompiledRunbook:
    """The runbook compiled with the options' variables and tags; the tags checked."""
    check_tags(runbook, options.tags, options.skip_tags)
    if options.cluster is not None and (options.guard is not None or options.only_hosts):
        raise BadOptions("a plan is made and applied on local threads: --cluster is not for it")
    return compile_runbook(
        runbook,
        extra_vars=dict(options.extra_vars),
        tags=options.tags,
        skip_tags=options.skip_tags,
        stop=stop,
        guard=options.guard,
    )


def check_tags(runbook: Runbook, tags: tuple[str, ...], skip_tags: tuple[str, ...]) -> None:
    """Every tag named must be a tag of the runbook, and ``--tags`` must select a step.

    A misspelt ``--skip-tags upgarde`` must not silently run the upgrade: exit 5.
    """
    from acmerun.runbook.compiler import ALWAYS, select_steps

    known = sorted({t for s in runbook.all_steps() for t in s.tags})
    listed = ", ".join(known) if known else "none"
    for option, given in (("--tags", tags), ("--skip-tags", skip_tags)):
        for tag in given:
            if tag in known or tag == ALWAYS:
                continue
            close = difflib.get_close_matches(tag, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BadOptions(
                f"{option} {tag}: no step of {runbook.path} has this tag (its tags: {listed}){hint}"
            )
    if tags and not select_steps(runbook, tags, skip_tags):
        raise BadOptions(
            f"--tags {','.join(sorted(set(tags)))} selects no step of {runbook.path} "
            f"(its tags: {listed})"
        )


def runner_settings(runbook: Runbook, options: RunOptions) -> RunnerSettings:
    """The rolling runner's settings: the runbook's strategy, workers from the settings table."""
    strategy = runbook.strategy
    inputs = settings_inputs(runbook, options)
    rolling = strategy.rolling
    rate = resolve("connect_rate", inputs).value
    return RunnerSettings(
        workers=int(resolve("workers", inputs).value),
        max_fail_percentage=strategy.max_fail_percentage,
        serial=strategy.serial,
        auth_failure_limit=int(resolve("auth_failure_limit", inputs).value),
        rolling=rolling is not None,
        max_down=rolling.max_down if rolling is not None else 1,
        on_failure=rolling.on_failure if rolling is not None else "halt_group",
        canary=strategy.canary,
        gated=bool(strategy.gate),
        gate_on=strategy.gate_on,
        pause=strategy.pause,
        max_unhealthy_percent=strategy.max_unhealthy_percent,
        max_failed_in_batch=strategy.max_failed_in_batch,
        connect_rate=None if rate is None else int(rate),
    )


def canary_hosts(runbook: Runbook, nr: Nornir, selected: tuple[str, ...]) -> set[str] | None:
    """The selected hosts a ``strategy.canary`` pattern names (None: a count or a percentage).

    A pattern is read as ``--limit`` reads one, over the run's selected hosts; one that
    matches none of them is a ``BadOptions`` naming ``strategy.canary``.
    """
    from acmerun.limit import select

    canary = runbook.strategy.canary
    if canary is None or is_count(canary):
        return None
    hosts = nr.inventory.hosts
    groups = {name: [g.name for g in hosts[name].groups] for name in selected}
    try:
        return set(select(str(canary), groups))
    except BadOptions as error:
        text = str(error).replace("--limit", "strategy.canary", 1)
        raise BadOptions(f"{runbook.path}: {text}") from None


def prepare(
    runbook: Runbook, compiled: CompiledRunbook, options: RunOptions, stop: StopToken
) -> PreparedRun:
    """The run ready to execute: target, nornir, every selected host and its group."""
    rerun: frozenset[str] | None = None
    if options.rerun_failed is not None:
        from acmerun.session.history import rerun_selection

        rerun_id, rerun = rerun_selection(options)
        options = dataclasses.replace(options, rerun_failed=rerun_id)
    source = inventory_source(runbook, options)
    try:
        runner = runner_settings(runbook, options)
        groups: dict[str, str] = {}

        def group_of(host: Host) -> str:
            return groups[host.name]

        canaries: set[str] = set()

        def canary_of(host: Host) -> bool:
            return host.name in canaries

        batches: list[Batch] = []
        pattern = runbook.strategy.canary is not None and runner.canary is not None
        login = credentials(runbook, options, source)
        logins = login_rate(runner.connect_rate, stop)
        nr = init_nornir(
            source,
            runner.nornir_options(
                group_of,
                stop,
                gate=compiled.gate_task,
                canary_of=canary_of if pattern and not is_count(runner.canary) else None,
                batches=batches,
            ),
            check=options.check,
            credentials=login,
            secrets=options.secrets,
            login_rate=logins,
        )
        nr, selected = select_hosts(nr, runbook, compiled, options.limit, only=rerun)
        if options.only_hosts is not None:
            nr = only_hosts(nr, options.only_hosts)
            selected = tuple(sorted(nr.inventory.hosts))
            if not selected:
                raise Refused(
                    f"none of the {len(options.only_hosts)} hosts to run is in the inventory "
                    "any more (or selected by the runbook's filter and --limit)"
                )
        hosts = nr.inventory.hosts
        groups.update((name, compiled.group_of(hosts[name])) for name in selected)
        canaries.update(canary_hosts(runbook, nr, selected) or ())
        report_dir = resolve("report_dir", settings_inputs(runbook, options)).value
        return PreparedRun(
            options=options,
            runbook=compiled.runbook,
            compiled=compiled,
            nornir=nr,
            selected=selected,
            groups=groups,
            inventory=source,
            runner=runner,
            credentials=login,
            reports=ReportTargets(options.report, report_dir, options.junit, options.html),
            secrets=options.secrets,
            target=describe(source),
            stop=stop,
            run_id=new_run_id(),
            logins=logins,
            batches=batches,
        )
    except BaseException:
        from acmerun.session.target import stop_embedded_lab

        stop_embedded_lab(source)
        raise
