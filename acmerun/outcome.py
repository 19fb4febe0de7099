"""What happened in a run, per host and per step: the one model every reporter reads.

The compiler builds a ``HostOutcome`` for each host it ran; runners mark hosts they
never ran (``skipped`` with the reason, or ``interrupted``) with a nornir ``Result``
carrying ``acmerun_status`` (see ``mark``). ``RunOutcome`` holds every selected host,
whatever happened to it.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nornir.core.inventory import Host
from nornir.core.task import Result


class Status(str, enum.Enum):
    """A host's or a step's status, as reports print it."""

    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value


#: the order of the totals in every report
STATUSES: tuple[Status, ...] = tuple(Status)

#: attribute of a nornir Result that a runner sets on a host it did not run
STATUS_ATTR = "acmerun_status"

#: attribute of the nornir Result of a host the compiled runbook ran: its ``HostOutcome``
OUTCOME_ATTR = "acmerun_outcome"


def mark(host: Host, status: Status, reason: str) -> Result:
    """A nornir Result for a host a runner did not run: ``skipped`` or ``interrupted``."""
    result = Result(host=host, result=reason, failed=False, changed=False)
    setattr(result, STATUS_ATTR, status)
    return result


@dataclass
class StepOutcome:
    """One step on one host: what it did, how long it took, how it ended."""

    name: str
    task: str
    status: Status
    changed: bool = False
    failed: bool = False
    attempts: int = 0
    duration: float = 0.0
    result: Any = None
    error: str | None = None
    steps: list[StepOutcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON-ready data, nested steps nested."""
        return {
            "name": self.name,
            "task": self.task,
            "status": self.status.value,
            "changed": self.changed,
            "failed": self.failed,
            "attempts": self.attempts,
            "duration": round(self.duration, 6),
            "result": self.result,
            "error": self.error,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass
class HostOutcome:
    """One selected host: its status, its steps, and why it failed or was skipped."""

    name: str
    status: Status
    steps: list[StepOutcome] = field(default_factory=list)
    error: str | None = None
    duration: float = 0.0

    @property
    def changed(self) -> bool:
        """True when any step changed the device (or would have, in check mode)."""
        return any(s.changed for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The host as JSON-ready data."""
        return {
            "status": self.status.value,
            "changed": self.changed,
            "error": self.error,
            "duration": round(self.duration, 6),
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass
class RunOutcome:
    """A whole run: the runbook, the mode, the times, and every selected host."""

    runbook: str
    name: str
    check: bool
    started: datetime
    ended: datetime
    hosts: dict[str, HostOutcome]
    target: str = ""
    interrupted: bool = False

    def totals(self) -> dict[str, int]:
        """How many hosts ended in each status (every status present, zeros included)."""
        counts = Counter(h.status for h in self.hosts.values())
        return {s.value: counts.get(s, 0) for s in STATUSES}

    def failures(self) -> list[tuple[str, str, str]]:
        """(host, step path, error) for every failed or unreachable step, hosts sorted."""
        found: list[tuple[str, str, str]] = []

        def walk(host: str, steps: list[StepOutcome], prefix: str) -> None:
            for s in steps:
                path = f"{prefix}{s.name}"
                if s.steps:
                    walk(host, s.steps, f"{path} > ")
                if s.status in (Status.FAILED, Status.UNREACHABLE) and not any(
                    c.status in (Status.FAILED, Status.UNREACHABLE) for c in s.steps
                ):
                    found.append((host, path, s.error or s.status.value))

        for name in sorted(self.hosts):
            h = self.hosts[name]
            before = len(found)
            walk(name, h.steps, "")
            if len(found) == before and h.status in (Status.FAILED, Status.UNREACHABLE):
                found.append((name, "", h.error or h.status.value))
        return found
