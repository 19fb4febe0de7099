"""Running compiled steps on one host, inside nornir: retries, asserts, outcomes.

Every step is one ``task.run`` (nested steps are a ``task.run`` of a function that
runs the children), so nornir's results and processors see the runbook's shape.
Failures are caught per step and become ``StepOutcome`` records; nothing escapes.

The engine names no vendor: a device error is any exception whose class says
``unreachable`` (the host could not be reached) and ``retryable`` (another attempt
may succeed), as the AcmeOS client's errors do; anything else is a failure that a
retry may fix.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import MultiResult, Result, Task

from acmerun.acmeos.deadline import DeadlineExceeded, remaining, step_deadline
from acmerun.outcome import Downtime, Status, StepOutcome
from acmerun.runbook.budget import RenderDeadline, RenderInterrupted
from acmerun.runbook.model import Step
from acmerun.runbook.templating import Expression, Renderer, render_within
from acmerun.secrets import Redactor
from acmerun.stop import StopToken

#: the longest wait between two attempts, in seconds, however the backoff grows (the schema's)
MAX_DELAY = 86400.0
_ORDER = (Status.UNREACHABLE, Status.FAILED, Status.CHANGED)


@dataclass
class CompiledStep:
    """A step with its task resolved and its templates compiled, ready for any host."""

    step: Step
    fn: Callable[..., Any] | None
    args: Mapping[str, Any]
    render_args: Renderer | None
    when: Expression | None
    asserts: Sequence[Expression]
    children: Sequence[CompiledStep] = field(default_factory=list)


@dataclass
class Ran:
    """A step's outcome on a host, and what it means for the host."""

    outcome: StepOutcome
    #: the status the host counts (an ignored failure counts as ok or changed)
    counts: Status
    #: the host runs no further step
    stop: bool = False


def worst(statuses: Sequence[Status]) -> Status:
    """unreachable > failed > changed > ok (skipped counts as ok)."""
    for status in _ORDER:
        if status in statuses:
            return status
    return Status.OK


class _Failure(Exception):
    def __init__(self, status: Status, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry = retry


def _innermost(error: BaseException) -> BaseException | str:
    """The exception that started a chain of failed subtasks (or the failed result's text)."""
    while isinstance(error, NornirSubTaskError):
        results: MultiResult = error.result
        failed = [r for r in results if r.failed]
        inner = next((r.exception for r in failed if r.exception is not None), None)
        if inner is None:
            return str(failed[0].result) if failed else "task failed"
        error = inner
    return error


def _device_error(error: BaseException) -> bool:
    """True for an exception that says whether it is unreachable and retryable."""
    return isinstance(getattr(type(error), "unreachable", None), bool)


def _describe(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    if _device_error(error):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class HostRun:
    """One host's run of the runbook's steps, with its variables and registered results."""

    def __init__(
        self,
        task: Task,
        variables: dict[str, Any],
        extra_vars: Mapping[str, Any],
        stop: StopToken,
    ) -> None:
        self.host = task.host
        self.vars = variables
        self.extra_vars = extra_vars
        self.stop = stop
        self.redactor = Redactor([task.host.password])
        #: a step before this one changed the host (in check mode: would have)
        self.changed = False

    def one_line(self, text: str) -> str:
        """``text`` on one line, with the host's password masked."""
        return " ".join(self.redactor.text(text).split())

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
                continue
            one = self.run_step(task, cs)
            ran.append(one)
            stopped = one if one.stop else None
        return ran

    def run_step(self, task: Task, cs: CompiledStep) -> Ran:
        """Run one step with its ``when``, retries, deadline, asserts and ``register``."""
        step = cs.step
        outcome = StepOutcome(name=step.name, task=step.label, status=Status.OK)
        start = time.monotonic()
        kept = len(task.results)
        try:
            if cs.when is not None and not self._holds(cs.when, "when"):
                skipped = not_reached(cs, Status.SKIPPED, f"when false: {cs.when.source}")
                return Ran(skipped, Status.OK)
            self._attempts(task, cs, outcome)
        except _Failure as failure:
            outcome.status = failure.status
            outcome.failed = True
            outcome.error = self.one_line(failure.message)
        finally:
            outcome.duration = time.monotonic() - start
        self.changed = self.changed or outcome.changed
        if outcome.status is Status.UNREACHABLE:
            return Ran(outcome, Status.UNREACHABLE, stop=True)
        if outcome.status is Status.FAILED:
            if step.ignore_errors:
                outcome.error = f"{outcome.error} (ignored)"
                for result in task.results[kept:]:
                    _unfail(result)
                return Ran(outcome, Status.CHANGED if outcome.changed else Status.OK)
            return Ran(outcome, Status.FAILED, stop=True)
        return Ran(outcome, outcome.status)

    def _holds(self, expression: Expression, what: str) -> bool:
        try:
            return expression.holds(self.vars)
        except Exception as error:
            raise _Failure(Status.FAILED, f"{what}: {_describe(error)}", retry=False) from None

    def _attempts(self, task: Task, cs: CompiledStep, outcome: StepOutcome) -> None:
        step = cs.step
        delay = step.delay
        for attempt in range(1, step.retries + 2):
            outcome.attempts = attempt
            kept = len(task.results)
            try:
                self._attempt(task, cs, outcome)
                return
            except _Failure as failure:
                last = attempt > step.retries or not failure.retry
                if (
                    last
                    or (delay > 0 and self.stop.wait_interrupted(delay))
                    or self.stop.interrupted
                ):
                    raise
            del task.results[kept:]
            delay = min(delay * step.backoff, MAX_DELAY)

    def _attempt(self, task: Task, cs: CompiledStep, outcome: StepOutcome) -> None:
        step = cs.step
        group: list[Ran] = []
        begun = time.monotonic()
        try:
            with step_deadline(step.timeout):
                args = self._args(cs)
                if args is None:
                    outcome.status = Status.INTERRUPTED
                    outcome.error = "interrupted while its arguments were rendered"
                    return
                if cs.fn is None:
                    done = task.run(task=_run_group, name=step.name, run=self, group=(cs, group))
                else:
                    done = task.run(task=cs.fn, name=step.name, **args)
        except NornirSubTaskError as error:
            self.close_connections()
            if cs.fn is not None:
                # a change made by a failed attempt stays made, whatever the retries do
                outcome.changed = outcome.changed or error.result.changed
                # a device that went down and did not come back: its downtime so far
                outcome.down = _downtime(_innermost(error)) or outcome.down
            if step.timeout is not None and time.monotonic() - begun >= step.timeout:
                raise _Failure(Status.FAILED, str(DeadlineExceeded(step.timeout))) from None
            raise self._failure(error, group) from None
        finally:
            if cs.fn is None:
                self._group_outcome(outcome, group)
        outcome.changed = outcome.changed or done.changed
        if any(r.outcome.status is Status.INTERRUPTED for r in group):
            outcome.status = Status.INTERRUPTED
            return
        if step.timeout is not None and time.monotonic() - begun > step.timeout:
            raise _Failure(Status.FAILED, str(DeadlineExceeded(step.timeout)))
        value = done[0].result if cs.fn is not None else None
        outcome.result = self.redactor.data(value)
        outcome.down = _downtime(done[0]) if cs.fn is not None else None
        outcome.status = Status.CHANGED if outcome.changed else Status.OK
        if step.register is not None:
            self.vars[step.register] = self.extra_vars.get(step.register, value)
        for check in cs.asserts:
            if not self._holds(check, f"assert {check.source}"):
                if (self.changed or outcome.changed) and task.is_dry_run():
                    # the device was not changed, so a check of the change cannot hold
                    outcome.status = Status.SKIPPED
                    outcome.error = (
                        f"check mode: not asserted after a change that was not made: {check.source}"
                    )
                    return
                shown = check.explain(self.vars, self.redactor.text)
                detail = f" ({shown})" if shown else ""
                raise _Failure(Status.FAILED, f"assertion failed: {check.source}{detail}")

    def _args(self, cs: CompiledStep) -> dict[str, Any] | None:
        """The step's arguments rendered inside its deadline; None when interrupted meanwhile."""
        if cs.render_args is None:
            return dict(cs.args)
        try:
            args: dict[str, Any] = render_within(
                cs.render_args,
                self.vars,
                seconds=remaining(),
                stop=self.stop.interrupt_event,
            )
        except RenderInterrupted:
            return None
        except RenderDeadline:
            timeout = cs.step.timeout if cs.step.timeout is not None else 0.0
            message = f"args: {DeadlineExceeded(timeout)} while its arguments were rendered"
            raise _Failure(Status.FAILED, message, retry=False) from None
        except Exception as error:
            raise _Failure(Status.FAILED, f"args: {_describe(error)}", retry=False) from None
        return args

    def _group_outcome(self, outcome: StepOutcome, group: list[Ran]) -> None:
        outcome.steps = [r.outcome for r in group]
        outcome.changed = outcome.changed or any(r.outcome.changed for r in group)

    def _failure(self, error: NornirSubTaskError, group: list[Ran]) -> _Failure:
        if group:
            stopped = next((r for r in group if r.stop), group[-1])
            status = Status.UNREACHABLE if stopped.counts is Status.UNREACHABLE else Status.FAILED
            return _Failure(status, f"{stopped.outcome.name}: {stopped.outcome.error}")
        cause = _innermost(error)
        message = _describe(cause)
        if isinstance(cause, str) or not _device_error(cause):
            return _Failure(Status.FAILED, message)
        if getattr(cause, "unreachable", False):
            return _Failure(Status.UNREACHABLE, message)
        return _Failure(Status.FAILED, message, retry=getattr(cause, "retryable", True) is True)

    def close_connections(self) -> None:
        """Close the host's device sessions (a retry or the next host reconnects)."""
        # a broken connection may fail to close; the retry reconnects anyway
        with contextlib.suppress(Exception):
            self.host.close_connections()


def not_reached(cs: CompiledStep, status: Status, reason: str) -> StepOutcome:
    """The outcome of a step that did not run, nested steps included (the same shape as run)."""
    children = [not_reached(c, status, reason) for c in cs.children]
    return StepOutcome(cs.step.name, cs.step.label, status, error=reason, steps=children)


def _unfail(result: Result | MultiResult) -> None:
    """An ignored failure does not fail the host in nornir's results either."""
    if isinstance(result, MultiResult):
        for each in result:
            _unfail(each)
    else:
        result.failed = False


def _run_group(task: Task, run: HostRun, group: tuple[CompiledStep, list[Ran]]) -> Result:
    """nornir task of a step with nested steps: runs the children as its own subtasks."""
    cs, ran = group
    ran.clear()
    ran.extend(run.run_steps(task, cs.children))
    stopped = any(r.stop for r in ran)
    changed = any(r.outcome.changed for r in ran)
    summary = ", ".join(f"{r.outcome.name}: {r.outcome.status}" for r in ran)
    return Result(host=task.host, result=summary, changed=changed, failed=stopped)


def _downtime(source: object) -> Downtime | None:
    """The device's downtime a task's result or error names (``downtime``: start, end), if any."""
    found = getattr(source, "downtime", None)
    if isinstance(found, tuple) and len(found) == 2:
        start, end = found
        if isinstance(start, datetime) and isinstance(end, datetime):
            return Downtime(start, end)
    return None
