"""nornir tasks that runbook tests name as ``tests.unit.runbook.tasks_for_tests:NAME``."""

from __future__ import annotations

import threading
import time
from typing import Any

from nornir.core.task import Result, Task

from acmerun.acmeos.errors import AuthenticationError, ConnectionFailure, InvalidVersion
from acmerun.runbook.tasks import supports_check

#: calls per (host, task) in the current test: tests reset it
CALLS: dict[tuple[str, str], int] = {}
_lock = threading.Lock()


def _count(task: Task, what: str) -> int:
    with _lock:
        key = (task.host.name, what)
        CALLS[key] = CALLS.get(key, 0) + 1
        return CALLS[key]


@supports_check
def echo(task: Task, value: Any = None, changed: bool = False) -> Result:
    """Returns ``value`` as the result."""
    _count(task, "echo")
    return Result(host=task.host, result=value, changed=changed and not task.is_dry_run())


@supports_check
def change(task: Task, what: str) -> Result:
    """Reports a change (a would-be change in dry-run)."""
    _count(task, "change")
    return Result(host=task.host, result=f"changed {what}", changed=True)


def fail(task: Task, message: str = "boom") -> Result:
    """Always fails."""
    _count(task, "fail")
    raise RuntimeError(message)


def flaky(task: Task, failures: int, error: str = "runtime") -> Result:
    """Fails the first ``failures`` calls on each host, then succeeds."""
    n = _count(task, "flaky")
    if n <= failures:
        if error == "unreachable":
            raise ConnectionFailure()
        if error == "auth":
            raise AuthenticationError("netops")
        if error == "version":
            raise InvalidVersion("5.x")
        raise RuntimeError(f"attempt {n} failed")
    return Result(host=task.host, result={"attempt": n})


def unreachable(task: Task) -> Result:
    """The device cannot be reached."""
    _count(task, "unreachable")
    raise ConnectionFailure()


def sleep(task: Task, seconds: float) -> Result:
    """Sleeps, ignoring any deadline."""
    time.sleep(seconds)
    return Result(host=task.host, result="slept")


def nested(task: Task, value: int) -> Result:
    """Runs ``echo`` as its own subtask, the way library tasks nest."""
    task.run(task=echo, value=value)
    return Result(host=task.host, result=value)


def nested_unreachable(task: Task) -> Result:
    """A library-style task whose inner subtask cannot reach the device."""
    task.run(task=unreachable)
    return Result(host=task.host, result="never")


def odd(task: Task) -> Any:
    """Returns a value JSON cannot hold."""
    return {"when": object, "items": {1, 2}, "password": task.host.password}


def secret_error(task: Task) -> Result:
    """Fails with the host's password in the message."""
    raise RuntimeError(f"login with {task.host.password} refused\nsecond line")


def anything(task: Task, **options: Any) -> Result:
    """Takes any keyword argument."""
    return Result(host=task.host, result=options)


NOT_A_TASK = 42


def change_once(task: Task) -> Result:
    """Changes the device on its first call only (an install), then finds nothing to do."""
    n = _count(task, "change_once")
    return Result(host=task.host, result={"ok": n > 1}, changed=n == 1)
