"""One stop token per run, shared by the signal handlers, the runner, the steps and the cluster.

Whoever wants the run to stop (a signal, the failure limit, the cluster's driver)
calls ``request`` with the reason, a ``NotRun`` record; whoever must react (the
runner starts no new host; on an interrupt, the steps start no further step; the
cluster stops its shards) listens with ``on_stop`` or reads ``requested`` /
``interrupted``. ``request`` and ``abandon`` only set flags and call listeners that
do the same, so they are safe from a signal handler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from acmerun.outcome import NotRun, NotRunKind


class StopToken:
    """Why and whether a run stops: the first reason wins; an interrupt always interrupts."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._interrupted = threading.Event()
        self._listeners: list[Callable[[NotRun], None]] = []
        self.reason: NotRun | None = None
        #: True once a second signal said not to wait for the hosts in flight
        self.abandoned = False
        #: True once the run's hosts are in an executor's hands (a signal then stops it,
        #: rather than interrupting the preparation with ``KeyboardInterrupt``)
        self.armed = False

    def request(self, reason: NotRun) -> None:
        """Stop the run for ``reason``: no new host starts; an interrupt ends hosts' steps too."""
        if self.reason is None:
            self.reason = reason
        if reason.kind is NotRunKind.INTERRUPTED:
            self._interrupted.set()
        self._stopped.set()
        for listener in list(self._listeners):
            listener(reason)

    def interrupt(self) -> None:
        """``request`` with the reason of SIGINT/SIGTERM."""
        self.request(NotRun.interrupted())

    def abandon(self) -> None:
        """Stop waiting for the hosts in flight (they are reported interrupted)."""
        self.abandoned = True

    def on_stop(self, listener: Callable[[NotRun], None]) -> None:
        """Call ``listener(reason)`` on every request from now on (at once if one came)."""
        self._listeners.append(listener)
        if self.reason is not None:
            listener(self.reason)

    @property
    def requested(self) -> bool:
        """True once any stop was requested."""
        return self._stopped.is_set()

    @property
    def interrupted(self) -> bool:
        """True once the run was interrupted (a signal, or the cluster's interrupt)."""
        return self._interrupted.is_set()

    @property
    def interrupt_event(self) -> threading.Event:
        """Set on an interrupt: for code that polls an Event (a template being rendered)."""
        return self._interrupted

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for any stop request; True if one came."""
        return self._stopped.wait(timeout)

    def wait_interrupted(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an interrupt; True if it came."""
        return self._interrupted.wait(timeout)
