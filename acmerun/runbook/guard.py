"""A host guard: a step run first on every host, whose result may stop the host untouched.

``acmerun plan`` reads each device's state with it (the plan's fingerprint) and
``acmerun apply`` reads it again: a device whose state differs from the plan's is
not touched, and every step of the runbook is reported skipped with the reason.
The engine knows only this record; what the step reads and what a difference
means are the caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acmerun.runbook.attempt import CompiledStep
from acmerun.runbook.model import Step


@dataclass(frozen=True)
class HostGuard:
    """The step (a nornir task, read-only: it runs in check mode too) and its verdict."""

    #: the step's name, as reports show it
    name: str
    #: what the step runs, as reports show it (its "task")
    label: str
    #: the nornir task: ``fn(task) -> Result``; it must change nothing
    fn: Callable[..., Any]
    #: ``verdict(host name, the task's result)``: a reason to touch nothing, or None to go on
    verdict: Callable[[str, Any], str | None]

    def compiled(self) -> CompiledStep:
        """The guard as a step the engine runs (retries and asserts: none)."""
        step = Step(name=self.name, task=self.label, location="(host guard)")
        return CompiledStep(
            step=step, fn=self.fn, args={}, render_args=None, when=None, asserts=[], checkable=True
        )
