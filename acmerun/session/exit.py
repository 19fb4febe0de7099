"""The exit code of a run that ran: Ansible's codes, so existing wrappers keep working."""

from __future__ import annotations

from acmerun.errors import ExitCode
from acmerun.outcome import RunOutcome, Status
from acmerun.rollout import GATE_FAILED


def exit_code(outcome: RunOutcome, *, detailed: bool = False) -> int:
    """99 interrupted; else 2 a host failed; 3 unreachable; 6 changes pending; 0.

    Hosts skipped because their group was halted count with the host that halted
    it: 3 when that was an unreachable one and none failed, 2 otherwise. A rollout's
    failed gate is 2, even after its last batch.
    """
    statuses = {h.status for h in outcome.hosts.values()}
    if outcome.interrupted or Status.INTERRUPTED in statuses:
        return int(ExitCode.INTERRUPTED)
    if Status.FAILED in statuses:
        return int(ExitCode.HOST_FAILED)
    if Status.UNREACHABLE in statuses:
        return int(ExitCode.HOST_UNREACHABLE)
    if Status.SKIPPED in statuses or any(b.gate == GATE_FAILED for b in outcome.batches):
        return int(ExitCode.HOST_FAILED)
    if detailed and outcome.check and any(h.changed for h in outcome.hosts.values()):
        return int(ExitCode.CHANGES_PENDING)
    return int(ExitCode.OK)
