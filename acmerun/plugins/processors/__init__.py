"""nornir processors: they record what happens in a run (in worker threads; never print)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nornir.core.inventory import Host
    from nornir.core.task import AggregatedResult, MultiResult, Task

    from acmerun.outcome import StepOutcome


class Processor:
    """A nornir Processor whose hooks do nothing: subclasses override the ones they need."""

    def task_started(self, task: Task) -> None:
        """A task starts over all its hosts."""

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        """A task ended on every host."""

    def task_instance_started(self, task: Task, host: Host) -> None:
        """A task starts on one host."""

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """A task ended on one host (or a runner reports a host it did not run)."""

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        """A subtask (``task.run``) starts on one host."""

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        """A subtask ended on one host."""

    def step_completed(self, host: Host, prefix: str, outcome: StepOutcome) -> None:
        """A runbook step ended on one host (``prefix``: the steps around it, ``"a > "``).

        Not a nornir hook: the runbook engine calls it as each step, nested ones
        included, has its final outcome (``runbook/execute.py``).
        """
