"""``EventRecorder``: a nornir processor that tells a run's event log what happens, as it happens.

A host's top-level task is the host; a step is a subtask whose parent is the
host's task or a group of steps (``block``, ``rescue``, ``always``, an included
file); the calls a task makes inside a step (``upgrade_os`` calling
``get_version``) are not steps. Each step's path is its name and the names of the
groups around it (``post-checks > get_version``), as the reports say it.
"""

from __future__ import annotations

from typing import Protocol

from nornir.core.inventory import Host
from nornir.core.task import MultiResult, Task

from acmerun.outcome import HostOutcome
from acmerun.plugins.processors import Processor
from acmerun.results import host_outcome
from acmerun.runbook.attempt import run_group


class RunEvents(Protocol):
    """Where the events go (``acmerun.journal.log.EventLog``)."""

    def host_started(self, host: str) -> None: ...

    def step_started(self, host: str, path: str, task: str) -> None: ...

    def step_ended(
        self, host: str, path: str, task: str, status: str, changed: bool, error: str | None
    ) -> None: ...

    def host_ended(self, outcome: HostOutcome) -> None: ...


def _is_step(task: Task) -> bool:
    parent = task.parent_task
    return parent is not None and (parent.parent_task is None or parent.task is run_group)


def _path(task: Task) -> str:
    names = [task.name]
    parent = task.parent_task
    while parent is not None and parent.parent_task is not None:
        names.append(parent.name)
        parent = parent.parent_task
    return " > ".join(reversed(names))


def _task_name(task: Task) -> str:
    fn = task.task
    return str(getattr(fn, "__name__", "") or "")


def _status(result: MultiResult) -> tuple[str, str | None]:
    if not result.failed:
        return ("changed" if result.changed else "ok"), None
    for one in result:
        if one.exception is not None:
            unreachable = getattr(one.exception, "unreachable", False) is True
            text = " ".join(str(one.exception).split()) or type(one.exception).__name__
            return ("unreachable" if unreachable else "failed"), text
    return "failed", None


class EventRecorder(Processor):
    """Hosts and steps as they start and end, told to ``events`` (in the worker threads)."""

    def __init__(self, events: RunEvents) -> None:
        self.events = events

    def task_instance_started(self, task: Task, host: Host) -> None:
        """A host starts: its line is on disk before its first step."""
        self.events.host_started(host.name)

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """A host is done, or a runner reports a host it did not run."""
        self.events.host_ended(host_outcome(host.name, result))

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        """A step starts (calls inside a step are not told)."""
        if _is_step(task):
            self.events.step_started(host.name, _path(task), _task_name(task))

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """A step's task call ended: its status as nornir saw it (before asserts)."""
        if _is_step(task):
            status, error = _status(result)
            self.events.step_ended(
                host.name, _path(task), _task_name(task), status, result.changed, error
            )
