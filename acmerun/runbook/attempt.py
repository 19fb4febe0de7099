"""One attempt of a step on a host: its arguments, its task, and how its result is judged.

``Attempts`` holds what every step does (render its ``args`` inside its deadline, run
its task or nested steps as a nornir ``task.run``, then ``changed_when``,
``failed_when``, ``until``, ``assert`` and ``register``); ``execute.HostRun`` builds
the step's flow on it (vars, ``when``, check mode, ``loop``, ``rescue``, ``always``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import Result, Task

from acmerun.acmeos.deadline import DeadlineExceeded, remaining, step_deadline
from acmerun.outcome import Downtime, Status, StepOutcome
from acmerun.runbook.budget import RenderDeadline, RenderInterrupted
from acmerun.runbook.failures import (
    StepFailure,
    describe,
    device_error,
    hidden,
    innermost,
    registered,
)
from acmerun.runbook.model import Step
from acmerun.runbook.templating import Expression, Renderer, render_within
from acmerun.secrets import Redactor
from acmerun.stop import StopToken

#: the longest wait between two attempts, in seconds, however the backoff grows (the schema's)
MAX_DELAY = 86400.0


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
    rescue: Sequence[CompiledStep] = field(default_factory=list)
    always: Sequence[CompiledStep] = field(default_factory=list)
    name: Renderer | None = None
    vars: Renderer | None = None
    until: Expression | None = None
    changed_when: Expression | None = None
    failed_when: Expression | None = None
    loop: Renderer | None = None
    #: the task runs under --check (it declares dry-run support, or the step forces it)
    checkable: bool = True


@dataclass
class Ran:
    """A step's outcome on a host, and what it means for the host."""

    outcome: StepOutcome
    #: the status the host counts (an ignored failure counts as ok or changed)
    counts: Status
    #: the host runs no further step
    stop: bool = False


class Attempts:
    """A host's variables and the attempts of its steps."""

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
        #: the last attempt's result, as the task returned it (for ``register``)
        self.value: Any = None

    def one_line(self, text: str) -> str:
        """``text`` on one line, with the host's password masked."""
        return " ".join(self.redactor.text(text).split())

    def _holds(self, expression: Expression, what: str) -> bool:
        try:
            return expression.holds(self.vars)
        except Exception as error:
            raise StepFailure(Status.FAILED, f"{what}: {describe(error)}", retry=False) from None

    def _attempts(self, task: Task, cs: CompiledStep, outcome: StepOutcome) -> None:
        step = cs.step
        delay = step.delay
        for attempt in range(1, step.retries + 2):
            outcome.attempts = attempt
            kept = len(task.results)
            try:
                self._attempt(task, cs, outcome)
                return
            except StepFailure as failure:
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
                    done = task.run(
                        task=run_group, name=outcome.name, run=self, group=(cs.children, group)
                    )
                else:
                    if getattr(cs.fn, "acmerun_stop", False):
                        args["stop"] = self.stop
                    if getattr(cs.fn, "acmerun_no_log", False):
                        args["no_log"] = step.no_log
                    fn = hidden(cs.fn) if step.no_log else cs.fn
                    done = task.run(task=fn, name=outcome.name, **args)
        except NornirSubTaskError as error:
            self.close_connections()
            if cs.fn is not None:
                # a change made by a failed attempt stays made, whatever the retries do
                outcome.changed = outcome.changed or error.result.changed
                # a device that went down and did not come back: its downtime so far
                outcome.down = downtime(innermost(error)) or outcome.down
            if step.timeout is not None and time.monotonic() - begun >= step.timeout:
                raise StepFailure(Status.FAILED, str(DeadlineExceeded(step.timeout))) from None
            raise self._failure(error, group) from None
        finally:
            if cs.fn is None:
                self._group_outcome(outcome, group)
        outcome.changed = outcome.changed or done.changed
        if any(r.outcome.status is Status.INTERRUPTED for r in group) or (
            getattr(cs.fn, "acmerun_stop", False) and self.stop.interrupted
        ):
            outcome.status = Status.INTERRUPTED
            return
        if step.timeout is not None and time.monotonic() - begun > step.timeout:
            raise StepFailure(Status.FAILED, str(DeadlineExceeded(step.timeout)))
        value = done[0].result if cs.fn is not None else None
        self.value = value
        outcome.result = self.redactor.data(value)
        outcome.down = downtime(done[0]) if cs.fn is not None else None
        self._judge(task, cs, outcome, value)

    def _judge(self, task: Task, cs: CompiledStep, outcome: StepOutcome, value: Any) -> None:
        """changed_when, failed_when, until and the asserts, with the result registered."""
        step = cs.step
        outcome.status = Status.CHANGED if outcome.changed else Status.OK
        self._register(step, outcome, value)
        if cs.changed_when is not None:
            outcome.changed = self._holds(cs.changed_when, "changed_when")
            outcome.status = Status.CHANGED if outcome.changed else Status.OK
            self._register(step, outcome, value)
        if cs.failed_when is not None and self._holds(cs.failed_when, "failed_when"):
            raise StepFailure(Status.FAILED, self._explained("failed_when", cs.failed_when))
        if cs.until is not None and not self._holds(cs.until, "until"):
            tries = f"after {outcome.attempts} attempt{'s' if outcome.attempts > 1 else ''}"
            message = self._explained(f"until {tries}: not true", cs.until)
            raise StepFailure(Status.FAILED, message)
        for check in cs.asserts:
            if not self._holds(check, f"assert {check.source}"):
                if (self.changed or outcome.changed) and task.is_dry_run():
                    # the device was not changed, so a check of the change cannot hold
                    outcome.status = Status.SKIPPED
                    outcome.error = (
                        f"check mode: not asserted after a change that was not made: {check.source}"
                    )
                    return
                raise StepFailure(Status.FAILED, self._explained("assertion failed", check))

    def _explained(self, what: str, check: Expression) -> str:
        shown = check.explain(self.vars, self.redactor.text)
        detail = f" ({shown})" if shown else ""
        return f"{what}: {check.source}{detail}"

    def _register(self, step: Step, outcome: StepOutcome, value: Any) -> None:
        if step.register is not None:
            self.vars[step.register] = self.extra_vars.get(
                step.register, registered(outcome, value)
            )

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
            raise StepFailure(Status.FAILED, message, retry=False) from None
        except Exception as error:
            raise StepFailure(Status.FAILED, f"args: {describe(error)}", retry=False) from None
        return args

    def _group_outcome(self, outcome: StepOutcome, group: list[Ran]) -> None:
        outcome.steps = [r.outcome for r in group]
        outcome.changed = outcome.changed or any(r.outcome.changed for r in group)

    def _failure(self, error: NornirSubTaskError, group: list[Ran]) -> StepFailure:
        if group:
            stopped = next((r for r in group if r.stop), group[-1])
            status = Status.UNREACHABLE if stopped.counts is Status.UNREACHABLE else Status.FAILED
            return StepFailure(status, f"{stopped.outcome.name}: {stopped.outcome.error}")
        cause = innermost(error)
        message = describe(cause)
        if isinstance(cause, str) or not device_error(cause):
            return StepFailure(Status.FAILED, message)
        if getattr(cause, "interrupted", False):  # the run stopped it before it reached a device
            return StepFailure(Status.INTERRUPTED, message, retry=False)
        if getattr(cause, "unreachable", False):
            return StepFailure(Status.UNREACHABLE, message)
        return StepFailure(Status.FAILED, message, retry=getattr(cause, "retryable", True) is True)

    def close_connections(self) -> None:
        """Close the host's device sessions (a retry or the next host reconnects)."""
        # a broken connection may fail to close; the retry reconnects anyway
        with contextlib.suppress(Exception):
            self.host.close_connections()

    def run_steps(self, task: Task, steps: Sequence[CompiledStep]) -> list[Ran]:
        """Run ``steps`` in order (``execute.HostRun`` says how)."""
        raise NotImplementedError


def run_group(task: Task, run: Attempts, group: tuple[Sequence[CompiledStep], list[Ran]]) -> Result:
    """nornir task of a step with nested steps: runs the children as its own subtasks."""
    children, ran = group
    ran.clear()
    ran.extend(run.run_steps(task, children))
    stopped = any(r.stop for r in ran)
    changed = any(r.outcome.changed for r in ran)
    summary = ", ".join(f"{r.outcome.name}: {r.outcome.status}" for r in ran)
    return Result(host=task.host, result=summary, changed=changed, failed=stopped)


def downtime(source: object) -> Downtime | None:
    """The device's downtime a task's result or error names (``downtime``: start, end), if any."""
    found = getattr(source, "downtime", None)
    if isinstance(found, tuple) and len(found) == 2:
        start, end = found
        if isinstance(start, datetime) and isinstance(end, datetime):
            return Downtime(start, end)
    return None
