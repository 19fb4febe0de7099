"""What happened in a run, per host and per step: the one model every reporter reads.

The compiled runbook builds a ``HostOutcome`` for each host it ran; a host that was
never run carries a ``NotRun`` record saying why (its group was halted, the fleet
was, the failure limit was crossed, the run was interrupted...), rendered to text
only when shown. ``RunOutcome`` holds every selected host, whatever happened to it.
Every record round-trips through plain data (``to_dict`` / ``from_dict``), which is
how outcomes cross processes (the cluster) and files (reports); how nornir ``Result``
objects carry these records is ``acmerun.results``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from acmerun.moments import iso_moment, parse_moment
from acmerun.rollout import Batch


class Status(str, enum.Enum):
    """A host's or a step's status, as reports print it."""

    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"
    #: a step whose nested steps failed and whose ``rescue`` steps then succeeded (never a host's)
    RESCUED = "rescued"

    def __str__(self) -> str:
        return self.value


#: a host's statuses, in the order of the totals in every report (a rescued host is ok)
STATUSES: tuple[Status, ...] = tuple(s for s in Status if s is not Status.RESCUED)

#: the error of a step not run under --check: its task does not declare dry-run support
NOT_CHECKABLE = "does not support check mode"

#: statuses that count as a host's failure (for failure limits, exit codes and JUnit)
FAILURES: frozenset[Status] = frozenset({Status.FAILED, Status.UNREACHABLE})


class NotRunKind(str, enum.Enum):
    """Why a host was not run (or not run to its end)."""

    HALTED_GROUP = "halted_group"  # a host of its redundancy group failed (on_failure: halt_group)
    HALTED_FLEET = "halted_fleet"  # a host failed with on_failure: halt_all
    FAILURE_LIMIT = "failure_limit"  # max_fail_percentage was crossed
    AUTH_LIMIT = "auth_limit"  # auth_failure_limit devices refused the credentials
    INTERRUPTED = "interrupted"  # SIGINT/SIGTERM before it started
    UNFINISHED = "unfinished"  # the run ended (abandoned, a crash) before it finished
    LOST = "lost"  # the process running it was lost (a cluster worker); ``detail`` says how
    GATE = "gate"  # the gate after an earlier batch failed (``host``, ``batch``, ``detail``)
    UNHEALTHY = "unhealthy"  # max_unhealthy_percent of the hosts were down before its batch
    FAILED_COUNT = "failed_count"  # more than max_failed_in_batch hosts failed

    def __str__(self) -> str:
        return self.value


_NOT_RUN_STATUS = {
    **{kind: Status.SKIPPED for kind in NotRunKind},
    NotRunKind.INTERRUPTED: Status.INTERRUPTED,
    NotRunKind.UNFINISHED: Status.INTERRUPTED,
    NotRunKind.LOST: Status.UNREACHABLE,
}


def over_failure_limit(limit: float | None, failed: int, total: int) -> bool:
    """True once more than ``limit`` percent of ``total`` hosts failed (``max_fail_percentage``)."""
    return limit is not None and failed * 100 > limit * total


@dataclass(frozen=True)
class NotRun:
    """Why a host was not run: the kind, and the host, group and counts behind it."""

    kind: NotRunKind
    #: the host whose failure halted this one (HALTED_GROUP, HALTED_FLEET)
    host: str | None = None
    #: the redundancy group that was halted (HALTED_GROUP)
    group: str | None = None
    #: True when ``host`` was unreachable rather than failed
    unreachable: bool = False
    #: the limit, and the failed hosts of how many (FAILURE_LIMIT; AUTH_LIMIT: no total)
    limit: float | None = None
    failed: int = 0
    total: int = 0
    detail: str = ""  # what happened, in words (LOST; GATE: the gate's own message)
    batch: int = 0  # the batch whose gate failed (GATE), or that did not start (UNHEALTHY)

    @classmethod
    def interrupted(cls) -> NotRun:
        """Not started: SIGINT/SIGTERM came first."""
        return cls(NotRunKind.INTERRUPTED)

    @classmethod
    def failure_limit(cls, limit: float, failed: int, total: int) -> NotRun:
        """Not started: more than ``limit`` percent of ``total`` hosts failed."""
        return cls(NotRunKind.FAILURE_LIMIT, limit=limit, failed=failed, total=total)

    @classmethod
    def auth_limit(cls, limit: int, failed: int, host: str) -> NotRun:
        """Not started: ``failed`` devices (``host`` the last) refused the credentials."""
        return cls(NotRunKind.AUTH_LIMIT, host=host, limit=limit, failed=failed)

    @property
    def status(self) -> Status:
        """The status a host not run for this reason is reported with."""
        return _NOT_RUN_STATUS[self.kind]

    def text(self) -> str:
        """The reason as reports print it."""
        happened = "was unreachable" if self.unreachable else "failed"
        if self.kind is NotRunKind.HALTED_GROUP:
            return f"not started: {self.host} in redundancy group {self.group} {happened}"
        if self.kind is NotRunKind.HALTED_FLEET:
            return f"not started: {self.host} {happened} (on_failure: halt_all)"
        if self.kind is NotRunKind.FAILURE_LIMIT:
            return (
                f"not started: max_fail_percentage {self.limit or 0:g}% exceeded "
                f"({self.failed} of {self.total} hosts failed)"
            )
        if self.kind is NotRunKind.AUTH_LIMIT:
            return (
                f"not started: {self.failed} authentication failures "
                f"(auth_failure_limit {self.limit or 0:g}; the last on {self.host})"
            )
        if self.kind is NotRunKind.GATE:
            where = f"batch {self.batch} failed on {self.host}"
            return f"not started: the gate after {where}: {self.detail}"
        if self.kind is NotRunKind.UNHEALTHY:
            share = f"{self.failed} of {self.total} hosts unhealthy before batch {self.batch}"
            return f"not started: {share} (max_unhealthy_percent {self.limit or 0:g}%)"
        if self.kind is NotRunKind.FAILED_COUNT:
            most = f"max_failed_in_batch {self.limit or 0:g}"
            return f"not started: {self.failed} hosts failed ({most})"
        if self.kind is NotRunKind.INTERRUPTED:
            return "not started: run interrupted"
        if self.kind is NotRunKind.UNFINISHED:
            return "interrupted before this host finished"
        return self.detail or "lost before this host finished"

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (fields at their defaults left out)."""
        data: dict[str, Any] = {"kind": self.kind.value}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "kind" and value != f.default:
                data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NotRun:
        """The record ``to_dict`` gave."""
        names = {f.name for f in dataclasses.fields(cls)} - {"kind"}
        return cls(NotRunKind(data["kind"]), **{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Downtime:
    """When a device was down during a step: from the reboot's start until it was back."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        """How long the device was down."""
        return max(0.0, (self.end - self.start).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        """``{"start", "end"}``, ISO 8601 UTC."""
        return {"start": iso_moment(self.start), "end": iso_moment(self.end)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Downtime | None:
        """The record ``to_dict`` gave (None for None)."""
        if not data:
            return None
        start, end = parse_moment(data.get("start")), parse_moment(data.get("end"))
        return cls(start, end) if start is not None and end is not None else None


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
    #: when the device was down during this step (a reboot the task waited for), if known
    down: Downtime | None = None

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
            "down": self.down.to_dict() if self.down is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepOutcome:
        """The step ``to_dict`` gave."""
        return cls(
            name=data["name"],
            task=data["task"],
            status=Status(data["status"]),
            changed=bool(data.get("changed")),
            failed=bool(data.get("failed")),
            attempts=int(data.get("attempts") or 0),
            duration=float(data.get("duration") or 0.0),
            result=data.get("result"),
            error=data.get("error"),
            steps=[cls.from_dict(s) for s in data.get("steps", ())],
            down=Downtime.from_dict(data.get("down")),
        )


@dataclass
class HostOutcome:
    """One selected host: its status, its steps, and why it failed or was not run."""

    name: str
    status: Status
    steps: list[StepOutcome] = field(default_factory=list)
    error: str | None = None
    duration: float = 0.0
    #: why the host was not run (None when it was)
    not_run: NotRun | None = None
    #: when the host's run began and ended (None when it was not run)
    started: datetime | None = None
    ended: datetime | None = None
    #: the host's redundancy group ("" without rolling)
    group: str = ""

    @classmethod
    def never_run(cls, name: str, reason: NotRun) -> HostOutcome:
        """A host that was not run, for ``reason``."""
        return cls(name=name, status=reason.status, error=reason.text(), not_run=reason)

    @property
    def changed(self) -> bool:
        """True when any step changed the device (or would have, in check mode)."""
        return any(s.changed for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The host as JSON-ready data."""
        data: dict[str, Any] = {
            "status": self.status.value,
            "changed": self.changed,
            "error": self.error,
            "duration": round(self.duration, 6),
            "steps": [s.to_dict() for s in self.steps],
            "started": iso_moment(self.started),
            "ended": iso_moment(self.ended),
            "group": self.group,
        }
        if self.not_run is not None:
            data["not_run"] = self.not_run.to_dict()
        return data

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> HostOutcome:
        """The host ``to_dict`` gave (its name is the key it was filed under)."""
        not_run = data.get("not_run")
        return cls(
            name=name,
            status=Status(data["status"]),
            steps=[StepOutcome.from_dict(s) for s in data.get("steps", ())],
            error=data.get("error"),
            duration=float(data.get("duration") or 0.0),
            not_run=NotRun.from_dict(not_run) if not_run else None,
            started=parse_moment(data.get("started")),
            ended=parse_moment(data.get("ended")),
            group=str(data.get("group") or ""),
        )


def walk(steps: Iterable[StepOutcome], prefix: str = "") -> Iterator[tuple[str, StepOutcome]]:
    """Every step with its path (``post-checks > get_version``), depth first, in run order."""
    for step in steps:
        path = f"{prefix}{step.name or step.task}"
        yield path, step
        if step.steps:
            yield from walk(step.steps, f"{path} > ")


def leaves(steps: Iterable[StepOutcome]) -> Iterator[tuple[str, StepOutcome]]:
    """The steps that have no nested steps, with their paths, depth first, in run order."""
    return ((path, step) for path, step in walk(steps) if not step.steps)


def rescued(steps: Iterable[StepOutcome]) -> list[str]:
    """The paths of the rescued steps: their failed nested steps are no failure."""
    return [path for path, step in walk(steps) if step.status is Status.RESCUED]


def _within(path: str, parents: list[str]) -> bool:
    return any(path.startswith(f"{parent} > ") for parent in parents)


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
    run_id: str = ""  # session/runid.py; "" for an outcome made outside a run
    login_rate: dict[str, Any] | None = None  # connect_rate's cost; None without a rate
    batches: list[Batch] = field(default_factory=list)  # the rollout's (acmerun/rollout.py)

    def totals(self) -> dict[str, int]:
        """How many hosts ended in each status (every status present, zeros included)."""
        counts = Counter(h.status for h in self.hosts.values())
        return {s.value: counts.get(s, 0) for s in STATUSES}

    def failures(self) -> list[tuple[str, str, str]]:
        """(host, step path, error) for every failed or unreachable step, hosts sorted.

        A step whose nested steps failed is named by its innermost failed step; a
        failed host with no failed step (it never ran one) is listed with no path.
        """
        found: list[tuple[str, str, str]] = []
        for name in sorted(self.hosts):
            host = self.hosts[name]
            before = len(found)
            saved = rescued(host.steps)
            for path, step in walk(host.steps):
                if _within(path, saved):
                    continue
                if step.status in FAILURES and not any(c.status in FAILURES for c in step.steps):
                    found.append((name, path, step.error or step.status.value))
            if len(found) == before and host.status in FAILURES:
                found.append((name, "", host.error or host.status.value))
        return found

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-ready data (hosts sorted by name)."""
        return {
            "runbook": self.runbook,
            "name": self.name,
            "check": self.check,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat(),
            "target": self.target,
            "interrupted": self.interrupted,
            "run_id": self.run_id,
            "batches": [b.to_dict() for b in self.batches],
            "hosts": {n: self.hosts[n].to_dict() for n in sorted(self.hosts)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunOutcome:
        """The run ``to_dict`` gave."""
        return cls(
            runbook=data["runbook"],
            name=data["name"],
            check=bool(data["check"]),
            started=datetime.fromisoformat(data["started"]),
            ended=datetime.fromisoformat(data["ended"]),
            hosts={n: HostOutcome.from_dict(n, h) for n, h in data.get("hosts", {}).items()},
            target=data.get("target", ""),
            interrupted=bool(data.get("interrupted")),
            run_id=str(data.get("run_id") or ""),
            batches=[Batch.from_dict(b) for b in data.get("batches") or ()],
        )
