"""``ProgressRecorder``: a nornir processor that counts hosts as a run goes, for a live display.

It only records (processors run in nornir's worker threads and never print):
hosts started, hosts done, and hosts done per final status; a listener hears
of each host's outcome as it is done, another of each step as it ends (the
runbook engine's ``step_completed``). Only the top-level task of each host
counts; subtasks (the steps) are not counted. Every update is a
few dictionary operations under one lock, so it costs nothing next to a device
call even with ten thousand hosts. Usable from a plain nornir script::

    recorder = ProgressRecorder(total=len(nr.inventory.hosts))
    nr.with_processors([recorder]).run(task=my_task)
    print(recorder.snapshot())
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from nornir.core.inventory import Host
from nornir.core.task import MultiResult, Task

from acmerun.outcome import STATUSES, HostOutcome, Status, StepOutcome
from acmerun.plugins.processors import Processor
from acmerun.results import host_outcome


@dataclass(frozen=True)
class ProgressSnapshot:
    """The progress of a run at one moment."""

    total: int
    started: int
    done: int
    in_flight: int
    counts: dict[Status, int] = field(default_factory=dict)


class ProgressRecorder(Processor):
    """Counts hosts started and done (per status) from nornir processor events; thread-safe.

    ``total`` is the number of hosts the run will account for; the caller sets
    it (nornir does not tell processors). A host completed twice (e.g. a retry
    run) is counted once, with its latest status. The ``on_host_done`` listener is
    called with the host's outcome, in the worker thread that finished it, after
    the counts are updated; ``on_step`` with (host name, path prefix, step
    outcome) as each step ends, in the host's worker thread. Neither may raise.
    """

    def __init__(
        self,
        total: int = 0,
        on_host_done: Callable[[HostOutcome], None] | None = None,
        on_step: Callable[[str, str, StepOutcome], None] | None = None,
    ) -> None:
        self.total = total
        self.on_host_done = on_host_done
        self.on_step = on_step
        self._lock = threading.Lock()
        self._started: set[str] = set()
        self._in_flight: set[str] = set()
        self._final: dict[str, Status] = {}
        self._counts: dict[Status, int] = dict.fromkeys(STATUSES, 0)

    def host_started(self, name: str) -> None:
        """Record that a host started its top-level task."""
        with self._lock:
            self._started.add(name)
            self._in_flight.add(name)

    def host_done(self, name: str, status: Status) -> None:
        """Record a host's final status (also for hosts a runner never started)."""
        with self._lock:
            self._in_flight.discard(name)
            previous = self._final.get(name)
            if previous is not None:
                self._counts[previous] -= 1
            self._final[name] = status
            self._counts[status] += 1

    def snapshot(self) -> ProgressSnapshot:
        """A consistent copy of the counts, safe to read from any thread."""
        with self._lock:
            return ProgressSnapshot(
                total=max(self.total, len(self._final) + len(self._in_flight)),
                started=len(self._started),
                done=len(self._final),
                in_flight=len(self._in_flight),
                counts=dict(self._counts),
            )

    # nornir Processor hooks (the others do nothing: steps are not counted)

    def step_completed(self, host: Host, prefix: str, outcome: StepOutcome) -> None:
        """A step ended on a host: tell ``on_step``."""
        if self.on_step is not None:
            self.on_step(host.name, prefix, outcome)

    def task_instance_started(self, task: Task, host: Host) -> None:
        """A host started its top-level task."""
        self.host_started(host.name)

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """A host completed its top-level task: count it under its final status."""
        outcome = host_outcome(host.name, result)
        self.host_done(host.name, outcome.status)
        if self.on_host_done is not None:
            self.on_host_done(outcome)
