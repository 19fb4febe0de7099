"""How a step's failure is told: the failure record, device errors, nornir's failed results."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import MultiResult, Result

from acmerun.acmeos.defaults import MASK
from acmerun.outcome import Status, StepOutcome

#: what a ``no_log`` step shows of its error
HIDDEN = f"details hidden (no_log): {MASK}"
_ORDER = (Status.UNREACHABLE, Status.FAILED, Status.CHANGED)
#: the outcome names a registered variable holds besides the result's own keys
OUTCOME_NAMES = ("failed", "changed", "skipped", "status", "error", "attempts", "result")


class StepFailure(Exception):
    """A failed attempt: its status, its message, whether another attempt may succeed."""

    def __init__(self, status: Status, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry = retry


def worst(statuses: Sequence[Status]) -> Status:
    """unreachable > failed > changed > ok (skipped, rescued count as ok)."""
    for status in _ORDER:
        if status in statuses:
            return status
    return Status.OK


def innermost(error: BaseException) -> BaseException | str:
    """The exception that started a chain of failed subtasks (or the failed result's text)."""
    while isinstance(error, NornirSubTaskError):
        results: MultiResult = error.result
        failed = [r for r in results if r.failed]
        inner = next((r.exception for r in failed if r.exception is not None), None)
        if inner is None:
            return str(failed[0].result) if failed else "task failed"
        error = inner
    return error


def device_error(error: BaseException) -> bool:
    """True for an exception that says whether it is unreachable and retryable."""
    return isinstance(getattr(type(error), "unreachable", None), bool)


def describe(error: BaseException | str) -> str:
    """An error on one line: a device error's own words, else the exception's class too."""
    if isinstance(error, str):
        return error
    if device_error(error):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def hidden(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` for a ``no_log`` step: what it raises says nothing of its arguments or result.

    nornir logs a failed task's exception; the one it sees keeps only the class's
    ``unreachable`` and ``retryable`` (so the step still ends as it should).
    """

    @functools.wraps(fn)
    def run(task: Any, **args: Any) -> Any:
        try:
            return fn(task, **args)
        except Exception as error:
            kind = type(error)
            marks = {k: getattr(kind, k) for k in ("unreachable", "retryable") if hasattr(kind, k)}
            raise type("NoLogError", (Exception,), marks)(HIDDEN) from None

    return run


def unfail(result: Result | MultiResult) -> None:
    """An ignored (or rescued) failure does not fail the host in nornir's results either."""
    if isinstance(result, MultiResult):
        for each in result:
            unfail(each)
    else:
        result.failed = False


def registered(outcome: StepOutcome, value: Any) -> dict[str, Any]:
    """What ``register`` stores: the result's keys, then the outcome's names over them.

    ``res.failed``, ``res.status``... are the outcome; ``res.cpu`` a key of the result;
    a result key named like an outcome name is read as ``res.result.KEY``.
    """
    found: dict[str, Any] = dict(value) if isinstance(value, dict) else {}
    found.update(
        failed=outcome.status in (Status.FAILED, Status.UNREACHABLE),
        changed=outcome.changed,
        skipped=outcome.status is Status.SKIPPED,
        status=outcome.status.value,
        error=outcome.error,
        attempts=outcome.attempts,
        result=value,
    )
    return found
