"""The login rate (``strategy.connect_rate``): at most N new device sessions in any second.

``LoginRate(50, stop)`` is shared by every thread of a run (one per process: a
cluster gives each shard its share). Every login holds a permit from when it
starts (connect and ``POST /api/v1/session``) until its answer came or it failed;
a new login may start only while fewer than N logins are in flight or ended less
than a second ago. That bounds what the *device side* counts, whatever the
delays: a login is logged by the device somewhere between its start and its end,
so if N + 1 logins were logged within one second, the last of them to start would
have found the N others in flight or ended within the second before it started.
The first N logins start at once (a burst of N, never more), then one each time a
permit is a second past its end.

A limiter counting permits when they are *taken* (a token bucket, a moving
window: ``limits``, ``pyrate-limiter``) bounds the logins sent per second, not
the logins a device logs per second: a login delayed by a busy machine lands in
the next second next to that second's full quota.

A thread waiting for a permit wakes when one frees up, when the run is
interrupted (``LoginRateStopped``), or at its step's deadline
(``DeadlineExceeded``): never a sleep loop.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from acmerun.acmeos import deadline
from acmerun.stop import StopToken

#: the key of nornir's ``config.user_defined`` that carries the run's ``LoginRate``
LOGIN_RATE = "acmerun_login_rate"
#: the window the rate is counted over (seconds)
WINDOW = 1.0


class LoginRateStopped(Exception):
    """The run was interrupted while this host waited for its turn to log in."""

    #: a device error as ``acmerun.acmeos.errors`` defines them: not unreachable, no retry
    unreachable = False
    retryable = False
    #: the host did not fail: the run stopped it
    interrupted = True

    def __init__(self, per_second: int) -> None:
        super().__init__(f"run interrupted while waiting to log in (connect_rate {per_second}/s)")


@dataclass(frozen=True)
class Waited:
    """What the login rate cost a run: logins made, logins held back, seconds they waited."""

    per_second: int
    logins: int = 0
    held: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, float | int]:
        """For the run's outcome (``RunOutcome.login_rate``) and its JSON report."""
        return {
            "connect_rate": self.per_second,
            "logins": self.logins,
            "held": self.held,
            "waited_seconds": round(self.seconds, 3),
        }


class LoginRate:
    """At most ``per_second`` logins in flight or ended within the last second."""

    def __init__(self, per_second: int, stop: StopToken | None = None) -> None:
        if isinstance(per_second, bool) or not isinstance(per_second, int) or per_second < 1:
            raise ValueError(f"connect_rate must be a whole number from 1, not {per_second!r}")
        self.per_second = per_second
        self._stop = stop
        # an RLock: the stop listener may run in a signal handler of a thread holding it
        self._lock = threading.RLock()
        #: the threads waiting for a permit, first come first served: only the first one
        #: waits for the clock, the others for their turn (no herd woken at each permit)
        self._queue: deque[threading.Condition] = deque()
        self._in_flight = 0
        #: when the logins of the last window ended (monotonic), oldest first
        self._ended: deque[float] = deque()
        self._logins = 0
        self._held = 0
        self._waited = 0.0
        if stop is not None:
            stop.on_stop(self._wake)

    def waited(self) -> Waited:
        """The logins so far, and how long those held back waited."""
        with self._lock:
            return Waited(self.per_second, self._logins, self._held, self._waited)

    def add(self, other: Waited) -> None:
        """Count another process's logins and waits as this run's (a cluster's shard)."""
        with self._lock:
            self._logins += other.logins
            self._held += other.held
            self._waited += other.seconds

    @contextmanager
    def login(self) -> Iterator[None]:
        """Hold a permit for one login: wait for it, log in inside the block."""
        self._acquire()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._ended.append(time.monotonic())
                if self._queue:
                    self._queue[0].notify()

    def _acquire(self) -> None:
        begun = time.monotonic()
        with self._lock:
            if not self._queue and self._free(begun):  # nobody waits, a permit is free
                if self._stop is not None and self._stop.interrupted:
                    raise LoginRateStopped(self.per_second)
                self._in_flight += 1
                self._logins += 1
                return
            me = threading.Condition(self._lock)
            self._queue.append(me)
            try:
                held = self._wait_turn(me)
            finally:
                self._queue.remove(me)
                if self._queue:
                    self._queue[0].notify()
            self._in_flight += 1
            self._logins += 1
            if held:
                self._held += 1
                self._waited += time.monotonic() - begun

    def _wait_turn(self, me: threading.Condition) -> bool:
        """Wait (the lock held) until ``me`` is first and a permit is free; True if it waited."""
        held = False
        while True:
            if self._stop is not None and self._stop.interrupted:
                raise LoginRateStopped(self.per_second)
            now = time.monotonic()
            wait: float | None = None
            if self._queue[0] is me:
                if self._free(now):
                    return held
                # a permit frees up a second after the oldest end, or when one in flight ends
                if self._ended:
                    wait = self._ended[0] + WINDOW - now
            left = deadline.remaining()
            if left is not None:
                if left <= 0:
                    deadline.check()
                wait = left if wait is None else min(wait, left)
            held = True
            me.wait(wait)

    def _free(self, now: float) -> bool:
        """True when a permit is free at ``now``; forgets the ends older than the window."""
        ended = self._ended
        while ended and ended[0] <= now - WINDOW:
            ended.popleft()
        return self._in_flight + len(ended) < self.per_second

    def _wake(self, reason: object) -> None:
        with self._lock:
            for waiter in self._queue:
                waiter.notify()
