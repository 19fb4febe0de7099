"""A runbook compiled to one nornir task per host, plus what the runner needs around it.

``compile_runbook`` resolves every task and compiles every template and expression
once; ``CompiledRunbook.host_task`` is then run by nornir on each host and returns a
``Result`` carrying the host's ``HostOutcome`` (attribute ``acmerun_outcome``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from nornir.core.filter import AND, F_BASE, OR, F
from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, Result, Task

from acmerun.errors import BadOptions, RunbookInvalid
from acmerun.outcome import OUTCOME_ATTR, STATUS_ATTR, HostOutcome, Status
from acmerun.plugins.runners.strategy import host_var
from acmerun.runbook.execute import CompiledStep, HostRun, Ran, worst
from acmerun.runbook.model import Runbook, Step
from acmerun.runbook.tasks import TaskNotFound, resolve
from acmerun.runbook.templating import Expression, compile_text, compile_value

#: a tag that selects a step whatever --tags says (unless --skip-tags names it)
ALWAYS = "always"


class _Not(F_BASE):
    """The negation of any filter (nornir's ``~`` only negates a plain ``F``)."""

    def __init__(self, inner: F_BASE) -> None:
        self.inner = inner

    def __call__(self, host: Host) -> bool:
        return not self.inner(host)

    def __repr__(self) -> str:
        return f"NOT ({self.inner!r})"


def build_filter(spec: Mapping[str, Any]) -> F_BASE:
    """A nornir filter from a runbook filter: F keys AND-ed, with and/or/not."""
    parts: list[F_BASE] = []
    plain = {k: v for k, v in spec.items() if k not in ("and", "or", "not")}
    if plain:
        parts.append(F(**plain))
    for sub in spec.get("and", ()):
        parts.append(build_filter(sub))
    if "or" in spec:
        alternatives = [build_filter(sub) for sub in spec["or"]]
        either = alternatives[0]
        for other in alternatives[1:]:
            either = OR(either, other)
        parts.append(either)
    if "not" in spec:
        parts.append(_Not(build_filter(spec["not"])))
    combined = parts[0]
    for part in parts[1:]:
        combined = AND(combined, part)
    return combined


def _select(
    steps: Sequence[Step], tags: frozenset[str], skip: frozenset[str], inherited: frozenset[str]
) -> list[Step]:
    chosen: list[Step] = []
    for step in steps:
        mine = inherited | frozenset(step.tags)
        if mine & skip:
            continue
        if step.steps:
            children = _select(step.steps, tags, skip, mine)
            if children:
                chosen.append(dataclasses.replace(step, steps=tuple(children)))
        elif not tags or mine & tags or ALWAYS in mine:
            chosen.append(step)
    return chosen


def _compile_step(step: Step) -> CompiledStep:
    fn = None
    if step.task is not None:
        try:
            fn = resolve(step.task)
        except TaskNotFound as error:
            raise RunbookInvalid([f"{step.location}: task: {error}"]) from None
    when = None
    if isinstance(step.when, str):
        when = Expression(step.when)
    elif step.when is False:
        when = Expression("false")
    return CompiledStep(
        step=step,
        fn=fn,
        args=step.args,
        render_args=compile_value(dict(step.args)),
        when=when,
        asserts=[Expression(a) for a in step.asserts],
        children=[_compile_step(child) for child in step.steps],
    )


def _host_status(ran: Sequence[Ran]) -> Status:
    status = worst([r.counts for r in ran])
    if status in (Status.OK, Status.CHANGED) and any(
        r.outcome.status is Status.INTERRUPTED for r in ran
    ):
        return Status.INTERRUPTED
    return status


class CompiledRunbook:
    """A runbook ready to run: its host task, filter, rolling groups and outcomes."""

    def __init__(
        self, runbook: Runbook, steps: Sequence[CompiledStep], extra_vars: Mapping[str, Any]
    ) -> None:
        self.runbook = runbook
        self.extra_vars = dict(extra_vars)
        self._steps = list(steps)
        self._stop = threading.Event()
        rolling = runbook.strategy.rolling
        self._group_by = compile_text(rolling.group_by) if rolling is not None else None

    def interrupt(self) -> None:
        """Start no further step on any host; running steps end, the rest are interrupted."""
        self._stop.set()

    @property
    def interrupted(self) -> bool:
        """True once ``interrupt`` was called."""
        return self._stop.is_set()

    def variables(self, host: Host, check: bool = False) -> dict[str, Any]:
        """What templates see on ``host``: vars < host data < (registered) < extra vars."""
        found = dict(self.runbook.vars)
        found.update(host.extended_data())
        found["inventory_hostname"] = host.name
        found["check_mode"] = check
        found.update(self.extra_vars)
        return found

    def host_task(self, task: Task) -> Result:
        """The nornir task run once per host: every step in order, nested steps nested."""
        start = time.monotonic()
        run = HostRun(
            task, self.variables(task.host, task.is_dry_run()), self.extra_vars, self._stop
        )
        try:
            ran = run.run_steps(task, self._steps)
        finally:
            # end the host's sessions now: a fleet of 10,000 must not hold 10,000 sockets
            run.close_connections()
        status = _host_status(ran)
        error = None
        stopped = next((r for r in ran if r.stop and r.outcome.error), None)
        if stopped is not None:
            error = f"{stopped.outcome.name}: {stopped.outcome.error}"
        elif status is Status.INTERRUPTED:
            error = "interrupted before every step ran"
        outcome = HostOutcome(
            name=task.host.name,
            status=status,
            steps=[r.outcome for r in ran],
            error=error,
            duration=time.monotonic() - start,
        )
        failed = status in (Status.FAILED, Status.UNREACHABLE)
        summary = error if error is not None else status.value
        result = Result(host=task.host, result=summary, changed=outcome.changed, failed=failed)
        setattr(result, OUTCOME_ATTR, outcome)
        return result

    def inventory_filter(self) -> F_BASE | None:
        """The runbook's ``inventory.filter`` as a nornir filter (None when it has none)."""
        spec = self.runbook.inventory.filter
        return build_filter(spec) if spec else None

    def group_of(self, host: Host) -> str:
        """The host's redundancy group (``strategy.rolling.group_by``); "" without rolling."""
        if self._group_by is None:
            return ""
        variables = self.variables(host)
        # as the runner plugin's own group_by sees a host (docs/rolling.md)
        for name in ("name", "hostname", "platform"):
            variables.setdefault(name, host_var(host, name))
        try:
            return str(self._group_by(variables))
        except Exception as error:
            where = f"{self.runbook.path}: strategy.rolling.group_by"
            raise RunbookInvalid([f"{where}: host '{host.name}': {error}"]) from None

    def outcomes(
        self, selected: Sequence[str], results: AggregatedResult
    ) -> dict[str, HostOutcome]:
        """A ``HostOutcome`` for every selected host, whatever happened to it."""
        found: dict[str, HostOutcome] = {}
        for name in selected:
            multi = results.get(name)
            if not multi:
                error = "interrupted before this host finished"
                found[name] = HostOutcome(name=name, status=Status.INTERRUPTED, error=error)
                continue
            first = multi[0]
            outcome = getattr(first, OUTCOME_ATTR, None)
            marked = getattr(first, STATUS_ATTR, None)
            if isinstance(outcome, HostOutcome):
                found[name] = outcome
            elif marked is not None:
                reason = None if first.result is None else str(first.result)
                found[name] = HostOutcome(name=name, status=Status(marked), error=reason)
            else:
                text = str(first.exception or first.result or "the host task failed")
                error = " ".join(text.strip().splitlines()[-1:]) or "the host task failed"
                found[name] = HostOutcome(name=name, status=Status.FAILED, error=error)
        return found

    def step_lines(self) -> list[str]:
        """The steps as ``--list-steps`` shows them: indented ``name (task)`` lines."""
        lines: list[str] = []

        def walk(steps: Sequence[CompiledStep], depth: int) -> None:
            for cs in steps:
                step = cs.step
                line = f"{'  ' * depth}{step.name} ({step.label})"
                if step.tags:
                    line += f"  tags: {', '.join(step.tags)}"
                if step.when is not None:
                    line += f"  when: {step.when}"
                lines.append(line)
                walk(cs.children, depth + 1)

        walk(self._steps, 0)
        return lines


def compile_runbook(
    runbook: Runbook,
    extra_vars: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
) -> CompiledRunbook:
    """The runbook ready to run; raises ``BadOptions`` when ``tags`` select no step."""
    wanted, skipped = frozenset(tags), frozenset(skip_tags)
    steps = _select(runbook.steps, wanted, skipped, frozenset())
    if wanted and not steps:
        known = sorted({t for s in runbook.all_steps() for t in s.tags})
        listed = ", ".join(known) if known else "none"
        raise BadOptions(
            f"--tags {','.join(sorted(wanted))} selects no step of {runbook.path} "
            f"(its tags: {listed})"
        )
    return CompiledRunbook(runbook, [_compile_step(s) for s in steps], extra_vars or {})
