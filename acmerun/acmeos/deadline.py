"""Per-thread deadlines: how a step's ``timeout`` bounds every device call inside it.

The runbook compiler wraps each step attempt in ``step_deadline(seconds)``. The
client caps each socket timeout at ``remaining()``, and tasks that wait (for a
device to come back from its reboot) stop waiting at the deadline, so a step
never runs much past its timeout even though threads cannot be killed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


class DeadlineExceeded(Exception):
    """The current step's timeout ran out."""

    #: a device error as ``acmerun.acmeos.errors`` defines them: reached, may be retried
    unreachable = False
    retryable = True

    def __init__(self, timeout: float) -> None:
        super().__init__(f"step timed out after {timeout:g}s (its timeout)")
        self.timeout = timeout


@contextmanager
def step_deadline(seconds: float | None) -> Iterator[None]:
    """Bound everything this thread does inside the block to ``seconds`` (None: no bound).

    Nested deadlines keep the earlier of the two.
    """
    previous = getattr(_local, "deadline", None)
    if seconds is None:
        yield
        return
    mine = (time.monotonic() + seconds, seconds)
    _local.deadline = mine if previous is None or mine[0] < previous[0] else previous
    try:
        yield
    finally:
        _local.deadline = previous


def _current() -> tuple[float, float] | None:
    current: tuple[float, float] | None = getattr(_local, "deadline", None)
    return current


def remaining() -> float | None:
    """Seconds left before this thread's deadline (never negative), or None when unbounded."""
    current = _current()
    if current is None:
        return None
    return max(0.0, current[0] - time.monotonic())


def cap(timeout: float) -> float:
    """``timeout`` shortened to the time left; raises ``DeadlineExceeded`` when none is left."""
    current = _current()
    if current is None:
        return timeout
    left = current[0] - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded(current[1])
    return min(timeout, left)


def check() -> None:
    """Raise ``DeadlineExceeded`` if this thread's deadline has passed."""
    cap(float("inf"))
