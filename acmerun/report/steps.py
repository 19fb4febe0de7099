"""A host's steps as every report counts them, in Ansible's terms.

The engine records an ``ignore_errors`` step that failed as a failed step whose
error ends with ``(ignored)``; the steps nested in it failed too. Such a failure
is *ignored*: it counts under ``ignored``, never under ``failed``, and it never
fails a CI test case. A failed step nested in a ``rescued`` step is *rescued*:
it counts under neither. ``ok`` counts every step that succeeded, changed ones
included, as Ansible's ``ok`` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from acmerun.outcome import (
    FAILURES,
    NOT_CHECKABLE,
    HostOutcome,
    RunOutcome,
    Status,
    StepOutcome,
    walk,
)

#: the end of the error of a failed ``ignore_errors`` step
IGNORED_MARK = "(ignored)"

#: a host line's step counts, in this order (``interrupted`` only when a run has any)
COLUMNS = ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")


@dataclass(frozen=True)
class Leaf:
    """An innermost step with its path and what its failure, if any, amounts to."""

    path: str
    step: StepOutcome
    #: a failure that ``ignore_errors`` (on the step or a step around it) let pass
    ignored: bool = False
    #: a failure inside a step whose ``rescue`` steps succeeded
    rescued: bool = False

    @property
    def kind(self) -> str:
        """What the leaf counts as: a status's name, ``ignored`` or ``rescued``."""
        if self.step.status in FAILURES and self.rescued:
            return "rescued"
        if self.step.status in FAILURES and self.ignored:
            return "ignored"
        return self.step.status.value

    @property
    def failed(self) -> bool:
        """True for a failure that counts: failed or unreachable, neither ignored nor rescued."""
        return self.step.status in FAILURES and not (self.ignored or self.rescued)


def is_ignored(step: StepOutcome) -> bool:
    """True for a failed ``ignore_errors`` step (its own failure, not one of a step around it)."""
    return step.status in FAILURES and (step.error or "").endswith(IGNORED_MARK)


def leaf_steps(
    steps: Iterable[StepOutcome], prefix: str = "", *, ignored: bool = False, rescued: bool = False
) -> Iterator[Leaf]:
    """Every innermost step, depth first, in run order, with its path (``a > b``)."""
    for step in steps:
        path = f"{prefix}{step.name or step.task}"
        here_ignored = ignored or is_ignored(step)
        here_rescued = rescued or step.status is Status.RESCUED
        if step.steps:
            yield from leaf_steps(
                step.steps, f"{path} > ", ignored=here_ignored, rescued=here_rescued
            )
        else:
            yield Leaf(path, step, ignored=here_ignored, rescued=here_rescued)


def host_leaves(host: HostOutcome) -> Iterator[Leaf]:
    """The host's innermost steps; on a host that ended ok or changed, no failure counts."""
    passed = host.status in (Status.OK, Status.CHANGED)
    return leaf_steps(host.steps, ignored=passed)


def _all_steps(steps: Iterable[StepOutcome]) -> Iterator[StepOutcome]:
    for step in steps:
        yield step
        yield from _all_steps(step.steps)


def host_counts(host: HostOutcome) -> Counter[str]:
    """The host's steps per column: ``ok`` (changed included), ``changed``, ``failed``..."""
    counts: Counter[str] = Counter()
    for leaf in host_leaves(host):
        kind = leaf.kind
        if kind == "rescued":
            continue  # the rescued step itself is counted, once
        counts[kind] += 1
        if kind == "changed":
            counts["ok"] += 1
    counts["rescued"] = sum(1 for s in _all_steps(host.steps) if s.status is Status.RESCUED)
    return counts


def host_failures(host: HostOutcome) -> list[tuple[str, Status, str]]:
    """(step path, status, error) of each failure that counts; the host's own when no step has.

    A step with nested steps is named by its innermost failed step. A host that failed
    or was unreachable before any step failed (it never ran one) has one entry, path ``""``.
    """
    found = [
        (leaf.path, leaf.step.status, leaf.step.error or leaf.step.status.value)
        for leaf in host_leaves(host)
        if leaf.failed
    ]
    if not found and host.status in FAILURES:
        found.append(("", host.status, host.error or host.status.value))
    return found


def skip_reason(step: StepOutcome, host: HostOutcome | None = None) -> str:
    """Why a skipped or interrupted step did not run, as reports print it."""
    if step.error:
        return step.error
    if host is not None and host.error and host.status is step.status:
        return host.error
    return "not run"


def not_checked(outcome: RunOutcome) -> dict[str, int]:
    """Step path -> hosts on which it was not run because it does not support check mode."""
    found: Counter[str] = Counter()
    for host in outcome.hosts.values():
        for path, step in walk(host.steps):
            if step.status is Status.SKIPPED and step.error == NOT_CHECKABLE:
                found[path] += 1
    return dict(found)
