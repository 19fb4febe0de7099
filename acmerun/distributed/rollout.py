"""A rollout on a cluster: batch boundaries are global, every decision taken on the driver.

With ``strategy.canary``, ``serial``, a gate, a pause or a health budget, the driver
runs the rollout batch by batch: a batch's hosts go to the shards (redundancy groups
kept whole, rolling inside each shard); when every shard of the batch is done, the
driver itself decides, as the local runner does (``plugins.runners.batches``): the
gate on the batch's hosts, from the driver's own nornir; the pause; the health budget
before the next batch. ``max_fail_percentage`` and ``max_failed_in_batch`` count the
failed hosts of the whole run. The batches' records go to the run's ``batches``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from nornir.core.processor import Processors
from nornir.core.task import Task

from acmerun.outcome import FAILURES, HostOutcome, NotRun
from acmerun.rollout import Batch, now
from acmerun.session.record import PreparedRun, RunnerSettings

#: runs one batch's hosts on the cluster, the run's failed hosts so far given:
#: each host's outcome, and the reason the run stopped during the batch (or None)
BatchRun = Callable[[Sequence[str], int], tuple[dict[str, HostOutcome], NotRun | None]]


def is_rollout(settings: RunnerSettings) -> bool:
    """True when the run has batch boundaries the driver must decide at."""
    return settings.batched or bool(settings.serial)


def shard_settings(settings: RunnerSettings) -> RunnerSettings:
    """What each shard of a batch runs with: rolling and limits, no batches of its own."""
    return dataclasses.replace(
        settings, serial=None, canary=None, gated=False, pause=0.0, max_unhealthy_percent=None
    )


def roll_out(run: PreparedRun, run_batch: BatchRun) -> dict[str, HostOutcome]:
    """Every selected host's outcome, the rollout run batch by batch by ``run_batch``."""
    runner: Any = run.nornir.runner
    inventory = run.nornir.inventory.hosts
    selected = set(run.selected)
    hosts = [inventory[name] for name in inventory if name in selected]
    plan, canary = runner.plan(hosts)
    checks = runner.checkpoints
    records = [
        Batch(n, tuple(hosts[i].name for i in batch), canary=canary and n == 1)
        for n, batch in enumerate(plan, 1)
    ]
    run.batches[:] = records
    # the gate's nornir context: the driver's own nornir and --check
    context = Task(
        run.compiled.host_task,
        nornir=run.nornir,
        global_dry_run=run.options.check,
        processors=Processors(),
    )
    outcomes: dict[str, HostOutcome] = {}
    failed = run.failed_before
    stopped: NotRun | None = None
    for record, batch in zip(records, plan, strict=True):
        members = [hosts[i] for i in batch]
        if stopped is None:
            stopped = run.stop.reason or checks.health(
                record, members, failed, run.run_size or len(hosts)
            )
            if stopped is not None:
                record.stopped = stopped.text()
        if stopped is not None:
            outcomes.update((h.name, HostOutcome.never_run(h.name, stopped)) for h in members)
            continue
        record.started = now()
        found, halted = run_batch(record.hosts, failed)
        record.ended = now()
        outcomes.update(found)
        record.failed = tuple(n for n in record.hosts if found[n].status in FAILURES)
        failed += len(record.failed)
        if halted is not None or run.stop.requested:
            stopped = halted or run.stop.reason
            record.stopped = stopped.text() if stopped is not None else ""
            continue
        ran = [h for h in members if found[h.name].not_run is None]
        stopped = checks.gate(record, context, ran)
        if stopped is not None:
            record.stopped = stopped.text()
        elif record is not records[-1] and not run.options.check:
            checks.pause(record)
    return outcomes
