"""Running compiled steps on one host, inside nornir: retries, asserts, outcomes.

Every step is one ``task.run`` (nested steps are a ``task.run`` of a function that
runs the children), so nornir's results and processors see the runbook's shape.
Failures are caught per step and become ``StepOutcome`` records; nothing escapes.
As each step ends (nested ones included), every nornir processor of the run that
has a ``step_completed(host, prefix, outcome)`` method hears of it, ``prefix``
being the path of the steps around it (``"post-checks > "``); the steps inside a
``no_log`` step are told with it, once it has hidden their details.

The engine names no vendor: a device error is any exception whose class says
``unreachable`` (the host could not be reached) and ``retryable`` (another attempt
may succeed), as the AcmeOS client's errors do; anything else is a failure that a
retry may fix.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import Result, Task

from acmerun.acmeos.defaults import MASK
from acmerun.outcome import NOT_CHECKABLE, Status, StepOutcome
from acmerun.runbook.attempt import MAX_DELAY, Attempts, CompiledStep, Ran, run_group
from acmerun.runbook.failures import HIDDEN, StepFailure, describe, registered, unfail, worst
from acmerun.runbook.model import Step
from acmerun.runbook.once import OnceSlots, follow, publish

__all__ = ["MAX_DELAY", "CompiledStep", "HostRun", "Ran", "worst"]


class HostRun(Attempts):
    """One host's run of the runbook's steps, with its variables and registered results."""

    #: the run's run_once steps (shared by every host of the run), if any
    once: OnceSlots | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the steps the host is inside now: (name, no_log), outermost first
        self._around: list[tuple[str, bool]] = []

    def run_steps(self, task: Task, steps: Sequence[CompiledStep]) -> list[Ran]:
        """Run ``steps`` in order; after a stop, the rest are skipped (or interrupted)."""
        ran: list[Ran] = []
        stopped: Ran | None = None
        for cs in steps:
            if stopped is not None or self.stop.interrupted:
                if stopped is not None:
                    how = "was unreachable" if stopped.counts is Status.UNREACHABLE else "failed"
                    reason = f"not run: {stopped.outcome.name} {how}"
                    outcome = not_reached(cs, Status.SKIPPED, reason)
                else:
                    outcome = not_reached(cs, Status.INTERRUPTED, "not run: run interrupted")
                ran.append(Ran(outcome, Status.OK, stop=stopped is not None))
                self._completed(task, outcome)
                continue
            self._around.append((self._name(cs), cs.step.no_log))
            try:
                one = self.run_step(task, cs)
            finally:
                self._around.pop()
            ran.append(one)
            self._completed(task, one.outcome)
            stopped = one if one.stop else None
        return ran

    def _completed(self, task: Task, outcome: StepOutcome) -> None:
        """Tell the processors that listen to steps that ``outcome``'s step ended."""
        if any(no_log for _, no_log in self._around):
            return  # told with the no_log step around it, once its details are hidden
        prefix = "".join(f"{name} > " for name, _ in self._around)
        for processor in task.processors:
            hook = getattr(processor, "step_completed", None)
            if hook is not None:
                hook(task.host, prefix, outcome)

    def run_step(self, task: Task, cs: CompiledStep) -> Ran:
        """Run one step; a ``run_once`` step on the first host to reach it, shared by the rest."""
        if not cs.step.run_once or self.once is None:
            return self._run(task, cs)
        slot, leader = self.once.claim(id(cs), self.host.name)
        if not leader:
            outcome = StepOutcome(name=self._name(cs), task=cs.step.label, status=Status.OK)
            value = follow(slot, self.stop, outcome)
            if cs.step.register is not None and value is not None:
                self.vars[cs.step.register] = self.extra_vars.get(cs.step.register, value)
            return self._ran(task, cs.step, outcome, len(task.results))
        ran: Ran | None = None
        try:
            ran = self._run(task, cs)
        finally:
            if ran is None:
                failed = StepOutcome(cs.step.name, cs.step.label, Status.FAILED, failed=True)
                failed.error = "the step ended abnormally"
                publish(slot, failed, None)
            else:
                register = cs.step.register
                publish(slot, ran.outcome, self.vars.get(register) if register else None)
        return ran

    def _run(self, task: Task, cs: CompiledStep) -> Ran:
        """One step: its vars, ``when``, check mode, loop, retries, rescue, always, register."""
        step = cs.step
        outcome = StepOutcome(name=self._name(cs), task=step.label, status=Status.OK)
        start = time.monotonic()
        kept = len(task.results)
        saved = dict(self.vars)
        dry_run = task.global_dry_run
        self.value = None
        when_false = False
        try:
            self._step_vars(cs)
            if cs.when is not None and not self._holds(cs.when, "when"):
                when_false = True
                skipped = not_reached(cs, Status.SKIPPED, f"when false: {cs.when.source}")
                outcome.status, outcome.error, outcome.steps = (
                    skipped.status,
                    skipped.error,
                    skipped.steps,
                )
            elif dry_run and not cs.checkable and step.check_mode is None:
                outcome.status = Status.SKIPPED
                outcome.error = NOT_CHECKABLE
            else:
                if step.check_mode is not None:
                    task.global_dry_run = step.check_mode
                if cs.loop is not None:
                    self._loop(task, cs, outcome)
                else:
                    self._attempts(task, cs, outcome)
        except StepFailure as failure:
            outcome.status = failure.status
            outcome.failed = True
            outcome.error = self.one_line(failure.message)
        finally:
            task.global_dry_run = dry_run
            self._restore(saved, step)
        if cs.rescue and outcome.status is Status.FAILED and not self.stop.interrupted:
            self._rescue(task, cs, outcome, kept)
        if cs.always and not self.stop.interrupted and not when_false:
            self._always(task, cs, outcome)
        outcome.duration = time.monotonic() - start
        self.changed = self.changed or outcome.changed
        if step.register is not None and cs.loop is None:
            value = registered(outcome, self.value)
            self.vars[step.register] = self.extra_vars.get(step.register, value)
        if step.no_log:
            self._hide(task, outcome, kept)
        return self._ran(task, step, outcome, kept)

    def _ran(self, task: Task, step: Step, outcome: StepOutcome, kept: int) -> Ran:
        if outcome.status is Status.UNREACHABLE:
            return Ran(outcome, Status.UNREACHABLE, stop=True)
        kind = Status.CHANGED if outcome.changed else Status.OK
        if outcome.status is Status.FAILED:
            if not step.ignore_errors:
                return Ran(outcome, Status.FAILED, stop=True)
            outcome.error = f"{outcome.error} (ignored)"
            for result in task.results[kept:]:
                unfail(result)
            return Ran(outcome, kind)
        return Ran(outcome, kind if outcome.status is Status.RESCUED else outcome.status)

    def _name(self, cs: CompiledStep) -> str:
        if cs.name is None:
            return cs.step.name
        try:
            return self.one_line(str(cs.name(self.vars)))
        except Exception:  # a name that cannot be rendered is shown as written
            return cs.step.name

    def _step_vars(self, cs: CompiledStep) -> None:
        if cs.vars is None:
            return
        try:
            values: dict[str, Any] = cs.vars(self.vars)
        except Exception as error:
            raise StepFailure(Status.FAILED, f"vars: {describe(error)}", retry=False) from None
        self.vars.update({k: v for k, v in values.items() if k not in self.extra_vars})

    def _restore(self, saved: dict[str, Any], step: Step) -> None:
        """Step vars and the loop variable end with the step; registered results stay."""
        for name in (*step.vars, step.loop_var if step.loop is not None else None):
            if name is None or name == step.register:
                continue
            if name in saved:
                self.vars[name] = saved[name]
            else:
                self.vars.pop(name, None)

    def _loop(self, task: Task, cs: CompiledStep, outcome: StepOutcome) -> None:
        """The step once per item of its loop; it fails when an item failed."""
        step = cs.step
        assert cs.loop is not None
        try:
            items = cs.loop(self.vars)
        except Exception as error:
            raise StepFailure(Status.FAILED, f"loop: {describe(error)}", retry=False) from None
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            kind = type(items).__name__
            raise StepFailure(Status.FAILED, f"loop: {kind} is not a list", retry=False)
        results: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            self.vars[step.loop_var] = item
            shown = f"[{i}]" if step.no_log else f"[{i}] {self.one_line(str(item))[:60]}"
            one = StepOutcome(name=f"{outcome.name} {shown}", task=step.label, status=Status.OK)
            self.value = None
            try:
                self._attempts(task, cs, one)
            except StepFailure as failure:
                one.status, one.failed = failure.status, True
                one.error = self.one_line(failure.message)
            outcome.steps.append(one)
            outcome.changed = outcome.changed or one.changed
            outcome.attempts = max(outcome.attempts, one.attempts)
            results.append(registered(one, self.value))
            if one.status is Status.UNREACHABLE or self.stop.interrupted:
                break
        if step.register is not None:
            self.vars[step.register] = self.extra_vars.get(step.register, results)
        self.value = [r["result"] for r in results]
        bad = [s for s in outcome.steps if s.status in (Status.FAILED, Status.UNREACHABLE)]
        if bad:
            status = worst([s.status for s in bad])
            raise StepFailure(status, f"{bad[0].name}: {bad[0].error}", retry=False)
        if any(s.status is Status.INTERRUPTED for s in outcome.steps):
            outcome.status = Status.INTERRUPTED
        else:
            outcome.status = Status.CHANGED if outcome.changed else Status.OK

    def _section(
        self, task: Task, outcome: StepOutcome, what: str, steps: Sequence[CompiledStep]
    ) -> StepOutcome:
        """Run ``rescue`` or ``always`` steps as one nested step of ``outcome``."""
        group: list[Ran] = []
        node = StepOutcome(name=what, task=what, status=Status.OK, attempts=1)
        begun = time.monotonic()
        self._around.append((what, False))
        try:
            task.run(task=run_group, name=f"{outcome.name}: {what}", run=self, group=(steps, group))
        except NornirSubTaskError as error:
            self.close_connections()
            failure = self._failure(error, group)
            node.status, node.failed, node.error = failure.status, True, failure.message
        finally:
            self._around.pop()
        node.steps = [r.outcome for r in group]
        node.changed = any(s.changed for s in node.steps)
        if not node.failed:
            statuses = [s.status for s in node.steps]
            node.status = Status.CHANGED if node.changed else Status.OK
            if Status.INTERRUPTED in statuses:
                node.status = Status.INTERRUPTED
        node.duration = time.monotonic() - begun
        outcome.steps.append(node)
        outcome.changed = outcome.changed or node.changed
        return node

    def _rescue(self, task: Task, cs: CompiledStep, outcome: StepOutcome, kept: int) -> None:
        """A failed step's rescue: when it succeeds the step is rescued, the host goes on."""
        node = self._section(task, outcome, "rescue", cs.rescue)
        if node.failed:
            outcome.status = node.status
            outcome.error = self.one_line(f"{outcome.error}; rescue: {node.error}")
            return
        if node.status is Status.INTERRUPTED:
            return
        outcome.status, outcome.failed = Status.RESCUED, False
        for result in task.results[kept:]:
            unfail(result)

    def _always(self, task: Task, cs: CompiledStep, outcome: StepOutcome) -> None:
        """The steps that run whatever happened; their failure fails a step that had not."""
        node = self._section(task, outcome, "always", cs.always)
        if node.failed and outcome.status not in (Status.FAILED, Status.UNREACHABLE):
            outcome.status, outcome.failed = node.status, True
            outcome.error = self.one_line(f"always: {node.error}")

    def _hide(self, task: Task, outcome: StepOutcome, kept: int) -> None:
        """A ``no_log`` step's result and details, masked in the outcome and nornir's results."""
        outcome.result = MASK if outcome.result is not None else None
        if outcome.error is not None:
            outcome.error = HIDDEN
        for each in outcome.steps:
            each.result = MASK if each.result is not None else None
            each.error = HIDDEN if each.error is not None else None
        for result in task.results[kept:]:
            _mask_result(result)


def not_reached(cs: CompiledStep, status: Status, reason: str) -> StepOutcome:
    """The outcome of a step that did not run, nested steps included (the same shape as run)."""
    children = [not_reached(c, status, reason) for c in cs.children]
    return StepOutcome(cs.step.name, cs.step.label, status, error=reason, steps=children)


def _mask_result(result: Any) -> None:
    if isinstance(result, list):
        for each in result:
            _mask_result(each)
    elif isinstance(result, Result):
        result.result = MASK
        result.exception = None
