"""A rollout's batches as data: when each ran, what its gate said, why the rollout stopped.

The rolling runner (and the cluster's driver) make one ``Batch`` per batch of a
rollout (``strategy.canary``, ``strategy.serial``), started or not; ``RunOutcome``
carries them, and the JSON report lists them as its top-level ``batches``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from acmerun.moments import iso_moment, parse_moment

#: a gate's results, as ``Batch.gate`` holds them
GATE_PASSED = "passed"
GATE_FAILED = "failed"


def now() -> datetime:
    """The time a batch record is stamped with (UTC)."""
    return datetime.now(timezone.utc)


@dataclass
class Batch:
    """One batch of a rollout: its hosts, its times, its gate and pause, and the stop after it."""

    #: 1 for the first batch (the canary, when there is one)
    index: int
    hosts: tuple[str, ...]
    canary: bool = False
    started: datetime | None = None
    ended: datetime | None = None
    #: None: no gate ran after it; else ``passed`` or ``failed``
    gate: str | None = None
    gate_hosts: tuple[str, ...] = ()
    gate_message: str = ""
    pause_started: datetime | None = None
    pause_ended: datetime | None = None
    #: why the rollout stopped at this batch (before it started, or after it ended); "" if not
    stopped: str = ""
    #: hosts of the batch that failed or were unreachable
    failed: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The batch as JSON-ready data (times ISO 8601 UTC, null when it did not happen)."""
        return {
            "index": self.index,
            "canary": self.canary,
            "hosts": list(self.hosts),
            "started": iso_moment(self.started),
            "ended": iso_moment(self.ended),
            "failed": list(self.failed),
            "gate": self.gate,
            "gate_hosts": list(self.gate_hosts),
            "gate_message": self.gate_message,
            "pause_started": iso_moment(self.pause_started),
            "pause_ended": iso_moment(self.pause_ended),
            "stopped": self.stopped,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Batch:
        """The batch ``to_dict`` gave."""
        return cls(
            index=int(data["index"]),
            hosts=tuple(str(h) for h in data.get("hosts", ())),
            canary=bool(data.get("canary")),
            started=parse_moment(data.get("started")),
            ended=parse_moment(data.get("ended")),
            gate=data.get("gate"),
            gate_hosts=tuple(str(h) for h in data.get("gate_hosts", ())),
            gate_message=str(data.get("gate_message") or ""),
            pause_started=parse_moment(data.get("pause_started")),
            pause_ended=parse_moment(data.get("pause_ended")),
            stopped=str(data.get("stopped") or ""),
            failed=tuple(str(h) for h in data.get("failed", ())),
        )
