"""The one codec between nornir's results and acmerun's outcomes.

nornir hands runners, processors and callers ``Result`` objects; acmerun's
reporters read ``HostOutcome`` records. Between the two there is this module
only: ``attach`` puts a host's outcome on the Result the compiled runbook
returns, ``not_run`` makes the Result of a host a runner never ran (with its
``NotRun`` reason), and ``host_outcome`` / ``decode`` read them back. Used by the
compiled runbook, the rolling runner, the processors, the run and the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from acmerun.outcome import FAILURES, HostOutcome, NotRun, NotRunKind, Status

if TYPE_CHECKING:
    from nornir.core.inventory import Host
    from nornir.core.task import MultiResult, Result

#: attribute of a nornir Result carrying a ``HostOutcome`` (a host that was run)
_OUTCOME = "acmerun_outcome"
#: attribute of a nornir Result carrying a ``NotRun`` (a host a runner did not run)
_NOT_RUN = "acmerun_not_run"


def attach(result: Result, outcome: HostOutcome) -> Result:
    """``result`` carrying ``outcome``: what the compiled runbook's host task returns."""
    setattr(result, _OUTCOME, outcome)
    return result


def not_run(host: Host, reason: NotRun) -> Result:
    """The Result of a host a runner did not run, for ``reason``."""
    from nornir.core.task import Result

    result = Result(host=host, result=reason.text(), failed=False, changed=False)
    setattr(result, _NOT_RUN, reason)
    return result


def host_outcome(name: str, results: MultiResult | None) -> HostOutcome:
    """The outcome of one host from the results of its top-level task (None: it never ended)."""
    if not results:
        return HostOutcome.never_run(name, NotRun(NotRunKind.UNFINISHED))
    top = results[0]
    outcome = getattr(top, _OUTCOME, None)
    if isinstance(outcome, HostOutcome):
        return outcome
    reason = getattr(top, _NOT_RUN, None)
    if isinstance(reason, NotRun):
        return HostOutcome.never_run(name, reason)
    # a task that is not a compiled runbook's (a plain nornir script), or one that escaped
    if top.failed:
        text = str(top.exception or top.result or "the host task failed")
        error = " ".join(text.strip().splitlines()[-1:]) or "the host task failed"
        status = Status.UNREACHABLE if _unreachable(results) else Status.FAILED
        return HostOutcome(name=name, status=status, error=error)
    return HostOutcome(name=name, status=Status.CHANGED if top.changed else Status.OK)


def host_status(results: MultiResult | None) -> Status:
    """A host's final status from the results of its top-level task."""
    if results:
        top = results[0]
        outcome = getattr(top, _OUTCOME, None)
        if isinstance(outcome, HostOutcome):
            return outcome.status
        reason = getattr(top, _NOT_RUN, None)
        if isinstance(reason, NotRun):
            return reason.status
    return host_outcome("", results).status


def failed_unreachable(results: MultiResult) -> bool:
    """True when the host failed because its device could not be reached."""
    return host_status(results) is Status.UNREACHABLE


def is_failure(results: MultiResult) -> bool:
    """True when the host counts as failed (failed or unreachable)."""
    return host_status(results) in FAILURES


def refused_credentials(results: MultiResult) -> bool:
    """True when a device refused the host's credentials (an error saying
    ``refused_credentials``, anywhere in the host's results)."""
    return any(_refused(r) for r in results)


def _refused(result: Result | MultiResult) -> bool:
    from nornir.core.task import MultiResult

    if isinstance(result, MultiResult):
        return any(_refused(r) for r in result)
    return getattr(result.exception, "refused_credentials", False) is True


def decode(selected: Iterable[str], results: Mapping[str, MultiResult]) -> dict[str, HostOutcome]:
    """A ``HostOutcome`` for every selected host, whatever happened to it."""
    return {name: host_outcome(name, results.get(name)) for name in selected}


def _unreachable(results: MultiResult) -> bool:
    """A device error anywhere in the results says the device could not be reached."""
    return any(getattr(r.exception, "unreachable", False) is True for r in results)
