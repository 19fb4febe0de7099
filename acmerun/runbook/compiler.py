"""A runbook compiled to one nornir task per host, plus what the runner needs around it.

``compile_runbook`` resolves every task and compiles every template and expression
once; ``CompiledRunbook.host_task`` is then run by nornir on each host and returns a
``Result`` carrying the host's ``HostOutcome`` (``acmerun.results.attach``).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

from nornir.core.filter import AND, F_BASE, OR, F
from nornir.core.inventory import Host
from nornir.core.task import Result, Task

from acmerun.errors import RunbookInvalid
from acmerun.outcome import HostOutcome, Status
from acmerun.results import attach
from acmerun.runbook.execute import CompiledStep, HostRun, Ran, not_reached, worst
from acmerun.runbook.guard import HostGuard
from acmerun.runbook.model import Runbook, Step
from acmerun.runbook.once import OnceSlots
from acmerun.runbook.tasks import TaskNotFound, checks_safely, resolve
from acmerun.runbook.templating import (
    Expression,
    Renderer,
    compile_text,
    compile_value,
    is_template,
)
from acmerun.stop import StopToken

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


def _condition(value: str | bool | None) -> Expression | None:
    if isinstance(value, str):
        return Expression(value)
    if isinstance(value, bool):
        return Expression("true" if value else "false")
    return None


def _values(value: Any) -> Renderer:
    """A renderer of ``value``, templates inside it rendered (a constant gives itself)."""
    found = compile_value(value)
    if found is not None:
        return found
    return lambda _ctx: copy.deepcopy(value)


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
    loop = None if step.loop is None else _values(step.loop)
    return CompiledStep(
        step=step,
        fn=fn,
        args=step.args,
        render_args=compile_value(dict(step.args)),
        when=when,
        asserts=[Expression(a) for a in step.asserts],
        children=[_compile_step(child) for child in step.steps],
        rescue=[_compile_step(child) for child in step.rescue],
        always=[_compile_step(child) for child in step.always],
        name=compile_text(step.name) if is_template(step.name) else None,
        vars=_values(dict(step.vars)) if step.vars else None,
        until=Expression(step.until) if step.until is not None else None,
        changed_when=_condition(step.changed_when),
        failed_when=_condition(step.failed_when),
        loop=loop,
        checkable=fn is None or step.task is None or checks_safely(step.task, fn),
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
        self,
        runbook: Runbook,
        steps: Sequence[CompiledStep],
        extra_vars: Mapping[str, Any],
        stop: StopToken | None = None,
        guard: HostGuard | None = None,
        gate: Sequence[CompiledStep] = (),
    ) -> None:
        self.runbook = runbook
        #: a step run first on every host, whose verdict may leave the host untouched
        self.guard = guard
        self._guard_step = guard.compiled() if guard is not None else None
        self.extra_vars = dict(extra_vars)
        #: the run's stop token: on an interrupt, no host starts a further step
        self.stop = stop if stop is not None else StopToken()
        self._steps = list(steps)
        self._gate = list(gate)
        rolling = runbook.strategy.rolling
        self._group_by = compile_text(rolling.group_by) if rolling is not None else None
        self._vars = {k: compile_value(v) for k, v in runbook.vars.items()}
        #: run_once steps: one host runs each, the others share its outcome
        self._once = OnceSlots()

    def variables(self, host: Host, check: bool = False) -> dict[str, Any]:
        """What templates see on ``host``: vars < host data < (registered) < extra vars.

        A runbook var that is a template is rendered in order, seeing the vars before
        it, the host's data and the extra vars.
        """
        found = dict(self.runbook.vars)
        found.update(host.extended_data())
        found["inventory_hostname"] = host.name
        found["check_mode"] = check
        found.update(self.extra_vars)
        for name, render in self._vars.items():
            if render is None or name in self.extra_vars or name in host.extended_data():
                continue
            try:
                found[name] = render(found)
            except Exception as error:
                where = f"{self.runbook.path}: vars.{name}"
                raise RunbookInvalid([f"{where}: host '{host.name}': {error}"]) from None
        return found

    def host_task(self, task: Task) -> Result:
        """The nornir task run once per host: every step in order, nested steps nested."""
        return self._host_task(task, self._steps)

    def gate_task(self, task: Task) -> Result:
        """The nornir task of ``strategy.gate``, run on a host after its batch: as ``host_task``
        runs the steps, with the gate's steps (a host's registered values are not seen)."""
        return self._host_task(task, self._gate)

    def _host_task(self, task: Task, steps: Sequence[CompiledStep]) -> Result:
        start = time.monotonic()
        try:
            variables = self.variables(task.host, task.is_dry_run())
        except RunbookInvalid as invalid:
            ran: list[Ran] = []
            status = Status.FAILED
            error: str | None = "; ".join(invalid.errors)
        else:
            ran, status, error = self._run_host(task, variables, steps)
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
        return attach(result, outcome)

    def _run_host(
        self, task: Task, variables: dict[str, Any], steps: Sequence[CompiledStep]
    ) -> tuple[list[Ran], Status, str | None]:
        run = HostRun(task, variables, self.extra_vars, self.stop)
        run.once = self._once if steps is self._steps else OnceSlots()
        try:
            ran, held = self._guarded(task, run, steps)
        finally:
            # end the host's sessions now: a fleet of 10,000 must not hold 10,000 sockets
            run.close_connections()
        if held is not None:
            return ran, Status.SKIPPED, held
        status = _host_status(ran)
        error = None
        stopped = next((r for r in ran if r.stop and r.outcome.error), None)
        if stopped is not None:
            error = f"{stopped.outcome.name}: {stopped.outcome.error}"
        elif status is Status.INTERRUPTED:
            error = "interrupted before every step ran"
        return ran, status, error

    def _guarded(
        self, task: Task, run: HostRun, steps: Sequence[CompiledStep]
    ) -> tuple[list[Ran], str | None]:
        """The steps, after the guard's (if any); the guard's reason when it held the host.

        A gate's steps run with no guard: the guard is the runbook's steps' own.
        """
        if self.guard is None or self._guard_step is None or steps is not self._steps:
            return run.run_steps(task, steps), None
        first = run.run_step(task, self._guard_step)
        if first.stop:
            how = "was unreachable" if first.counts is Status.UNREACHABLE else "failed"
            why = f"not run: {first.outcome.name} {how}"
            rest = [Ran(not_reached(cs, Status.SKIPPED, why), Status.OK) for cs in self._steps]
            return [first, *rest], None
        reason = self.guard.verdict(task.host.name, run.value)
        if reason is None:
            return [first, *run.run_steps(task, self._steps)], None
        held = [Ran(not_reached(cs, Status.SKIPPED, reason), Status.OK) for cs in self._steps]
        return [first, *held], reason

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
        variables.setdefault("name", host.name)
        for name in ("hostname", "platform"):
            variables.setdefault(name, getattr(host, name))
        try:
            return str(self._group_by(variables))
        except Exception as error:
            where = f"{self.runbook.path}: strategy.rolling.group_by"
            raise RunbookInvalid([f"{where}: host '{host.name}': {error}"]) from None

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


def select_steps(
    runbook: Runbook, tags: Sequence[str] = (), skip_tags: Sequence[str] = ()
) -> list[Step]:
    """The runbook's steps that ``tags`` and ``skip_tags`` select (nested steps pruned)."""
    return _select(runbook.steps, frozenset(tags), frozenset(skip_tags), frozenset())


def compile_runbook(
    runbook: Runbook,
    extra_vars: Mapping[str, Any] | None = None,
    tags: Sequence[str] = (),
    skip_tags: Sequence[str] = (),
    stop: StopToken | None = None,
    guard: HostGuard | None = None,
) -> CompiledRunbook:
    """The runbook ready to run: the steps ``tags`` and ``skip_tags`` select, compiled.

    ``guard``: a step run first on every host that may leave the host untouched.
    """
    steps = select_steps(runbook, tags, skip_tags)
    given = dict(extra_vars or {})
    if is_template(runbook.name):
        runbook = dataclasses.replace(runbook, name=_title(runbook, given))
    gate = [_compile_step(s) for s in runbook.strategy.gate]
    compiled = [_compile_step(s) for s in steps]
    return CompiledRunbook(runbook, compiled, given, stop, guard=guard, gate=gate)


def _title(runbook: Runbook, extra_vars: Mapping[str, Any]) -> str:
    """The runbook's name rendered with its constant vars and the extra vars."""
    context = {**runbook.vars, **extra_vars}
    try:
        return " ".join(str(compile_text(runbook.name)(context)).split())
    except Exception as error:
        raise RunbookInvalid([f"{runbook.path}: name: {error}"]) from None
