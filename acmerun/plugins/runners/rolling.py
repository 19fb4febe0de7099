"""Rolling execution that never takes down a redundancy group: the runner ``RollingRunner``.

A nornir runner plugin (``runner={"plugin": "RollingRunner", "options": {...}}``). Hosts
are grouped by ``group_by``; at most ``max_down`` hosts of a group and ``num_workers``
hosts overall are in flight at once; ready groups take turns. A failed host halts its
group, the whole run, or nothing (``on_failure``); ``max_fail_percentage``,
``max_failed_in_batch``, ``auth_failure_limit`` and ``stop()`` (or the run's stop token)
stop new hosts from starting anywhere. Batches (``canary``, ``serial``) run one after the
other, with a gate, a pause and a health budget between them (``batches.Checkpoints``).
Every host the runner did not run is in the result all the same, with the structured
reason (``acmerun.results.not_run``).

One dispatcher (``dispatch.Rollout``) owns all scheduling state; worker threads only run
hosts and post their results on a queue.
"""

from __future__ import annotations

import logging

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, Task

from acmerun.defaults import (
    DEFAULT_AUTH_FAILURE_LIMIT,
    DEFAULT_MAX_DOWN,
    DEFAULT_ON_FAILURE,
    DEFAULT_WORKERS,
    ON_FAILURE,
)
from acmerun.outcome import NotRun
from acmerun.plugins.runners.batches import GATE_ON, Checkpoints, GateTask, Probe, tcp_probe
from acmerun.plugins.runners.dispatch import Rollout
from acmerun.plugins.runners.strategy import (
    Canary,
    GroupBy,
    RunnerOptionsError,
    Serial,
    canary_picker,
    group_namer,
    name_groups,
    parse_serial,
    plan_batches,
)
from acmerun.rollout import Batch
from acmerun.stop import StopToken

logger = logging.getLogger(__name__)

__all__ = ["ON_FAILURE", "RollingRunner", "RunnerOptionsError"]


class RollingRunner:
    """Runs a task over hosts group by group: never more than ``max_down`` of a group at once.

    Arguments:
        num_workers: hosts in flight at once, across all groups.
        group_by: names each host's redundancy group: a Jinja2 template over the host's data
            (``"{{ site }}-{{ dev_type }}-{{ rack }}"``), a function of the host, or None
            (every host its own group: plain parallel execution).
        max_down: hosts of one group in flight at once.
        on_failure: when a host fails, ``halt_group`` skips the rest of its group,
            ``halt_all`` starts no new host anywhere, ``continue`` carries on.
        max_fail_percentage: once more than this percentage of the hosts failed, no new
            host starts anywhere.
        serial: Ansible's batches (a count, ``"N%"``, or a list of them whose last one
            repeats); a batch finishes before the next one starts.
        fleet_size: the number of hosts ``max_fail_percentage`` is a percentage of (default:
            the hosts given to ``run``; a shard of a larger run gives the whole run's).
        auth_failure_limit: once this many devices refused the credentials, no new host
            starts anywhere, and the stop token holds the reason (``NotRun.auth_limit``);
            0 or None: no limit.
        stop: a stop token shared with whoever may stop the run (signals, a cluster); the
            runner starts no new host once it is requested, and marks the hosts it did not
            start with its reason.
        canary: the first batch, run alone: a count, ``"N%"``, host names or globs, or a
            function of the host; ``serial`` batches the other hosts.
        gate: a nornir task run after each batch on its hosts that ran (``gate_on: once``:
            on one of them); when it fails on one, no new host starts (``NotRun`` gate).
        pause: seconds to wait between batches (after the gate); a stop ends it at once.
        max_unhealthy_percent: before each batch, the hosts failed so far and the batch's
            devices ``probe`` finds down must be under this percentage of the fleet.
        max_failed_in_batch: once more than this many hosts failed, counted over the whole
            run (never reset at a batch), no new host starts.
        batches: a list that receives a ``Batch`` record for every batch of a run.
    """

    def __init__(
        self,
        num_workers: int = DEFAULT_WORKERS,
        group_by: GroupBy = None,
        max_down: int = DEFAULT_MAX_DOWN,
        on_failure: str = DEFAULT_ON_FAILURE,
        max_fail_percentage: float | None = None,
        serial: Serial = None,
        fleet_size: int | None = None,
        stop: StopToken | None = None,
        auth_failure_limit: int | None = DEFAULT_AUTH_FAILURE_LIMIT,
        canary: Canary = None,
        gate: GateTask | None = None,
        gate_on: str = "batch",
        pause: float = 0.0,
        max_unhealthy_percent: float | None = None,
        max_failed_in_batch: int | None = None,
        probe: Probe = tcp_probe,
        batches: list[Batch] | None = None,
    ) -> None:
        _check_whole("num_workers", num_workers)
        _check_whole("max_down", max_down)
        if fleet_size is not None:
            _check_whole("fleet_size", fleet_size)
        if on_failure not in ON_FAILURE:
            raise RunnerOptionsError(
                f"rolling on_failure must be one of {', '.join(ON_FAILURE)}, not {on_failure!r}"
            )
        if max_fail_percentage is not None and (
            isinstance(max_fail_percentage, bool)
            or not isinstance(max_fail_percentage, (int, float))
            or not 0 <= max_fail_percentage <= 100
        ):
            raise RunnerOptionsError(
                "rolling max_fail_percentage must be a number from 0 to 100, "
                f"not {max_fail_percentage!r}"
            )
        if auth_failure_limit is not None and (
            isinstance(auth_failure_limit, bool)
            or not isinstance(auth_failure_limit, int)
            or auth_failure_limit < 0
        ):
            raise RunnerOptionsError(
                "rolling auth_failure_limit must be a whole number >= 0, "
                f"not {auth_failure_limit!r}"
            )
        _check_rollout(gate_on, pause, max_unhealthy_percent, max_failed_in_batch)
        self.auth_failure_limit = auth_failure_limit or None
        self.num_workers = num_workers
        self.group_by = group_by
        self.max_down = max_down
        self.on_failure = on_failure
        self.max_fail_percentage = max_fail_percentage
        self.serial = serial
        self.fleet_size = fleet_size
        self.failed_before = 0  # ``part_of``
        self.token = stop if stop is not None else StopToken()
        self._namer = group_namer(group_by)
        self._serial_sizes = parse_serial(serial)
        self._canary = canary_picker(canary)
        self.max_failed_in_batch = max_failed_in_batch
        self.batches = batches
        self.checkpoints = Checkpoints(
            gate=gate,
            gate_on=gate_on,
            pause=float(pause),
            max_unhealthy_percent=max_unhealthy_percent,
            probe=probe,
            workers=num_workers,
            token=self.token,
        )
        self._rollout: Rollout | None = None
        self.token.on_stop(self._wake)

    def run(self, task: Task, hosts: list[Host]) -> AggregatedResult:
        """Run ``task`` over ``hosts``; every host is in the result, in the order given.

        Raises ``RunnerOptionsError`` before starting any host when ``group_by`` cannot
        name a host's redundancy group. A ``KeyboardInterrupt`` reaching the calling thread
        stops the run as ``stop()`` does, waits for the hosts in flight, and propagates.
        """
        groups = name_groups(self.group_by, self._namer, hosts)
        batches, canary = self.plan(hosts)
        rollout = Rollout(self, task, hosts, groups, batches, canary)
        self._rollout = rollout
        try:
            return rollout.execute()
        finally:
            self._rollout = None

    def plan(self, hosts: list[Host]) -> tuple[list[list[int]], bool]:
        """The batches of a run over ``hosts`` (their indexes), and True when the first one
        is the canary's: the canary hosts alone first, then ``serial``'s batches."""
        canary = self._canary(hosts)
        return plan_batches(canary, self._serial_sizes, len(hosts)), bool(canary)

    def part_of(self, fleet_size: int, failed_before: int) -> None:
        """The hosts given to ``run`` are the rest of a run of ``fleet_size`` hosts (a resumed
        run's), ``failed_before`` of which failed: ``max_fail_percentage``,
        ``max_failed_in_batch`` and ``max_unhealthy_percent`` count them with these."""
        _check_whole("fleet_size", fleet_size)
        self.fleet_size = fleet_size
        self.failed_before = failed_before

    def stop(self) -> None:
        """Start no new host, in this run or any later one; hosts in flight finish.

        Safe from any thread and from a signal handler: it sets a flag and posts a wake-up.
        The hosts not started are reported ``interrupted``.
        """
        self.token.interrupt()

    def _wake(self, reason: NotRun) -> None:
        rollout = self._rollout
        if rollout is not None:
            rollout.events.put(None)  # SimpleQueue.put is reentrant: safe in a signal handler

    @property
    def stopped(self) -> bool:
        """True once a stop was requested (``stop()`` or the stop token)."""
        return self.token.requested

    def groups_in_flight(self) -> int:
        """Redundancy groups with a host in flight now (for progress displays)."""
        rollout = self._rollout
        return rollout.busy_groups if rollout is not None else 0

    def pause_left(self) -> float | None:
        """Seconds left of the pause between two batches, None when not pausing (progress)."""
        return self.checkpoints.pause_left()

    def hosts_in_flight(self) -> int:
        """Hosts in flight now (for progress displays)."""
        rollout = self._rollout
        return rollout.running if rollout is not None else 0


def _check_rollout(gate_on: str, pause: object, unhealthy: object, failed: object) -> None:
    if gate_on not in GATE_ON:
        raise RunnerOptionsError(f"rolling gate_on must be batch or once, not {gate_on!r}")
    if isinstance(pause, bool) or not isinstance(pause, (int, float)) or pause < 0:
        raise RunnerOptionsError(f"rolling pause must be seconds >= 0, not {pause!r}")
    if unhealthy is not None and (
        isinstance(unhealthy, bool)
        or not isinstance(unhealthy, (int, float))
        or not 0 < unhealthy <= 100
    ):
        raise RunnerOptionsError(
            f"rolling max_unhealthy_percent must be a number from 0 (excluded) to 100, "
            f"not {unhealthy!r}"
        )
    if failed is not None and (
        isinstance(failed, bool) or not isinstance(failed, int) or failed < 0
    ):
        raise RunnerOptionsError(
            f"rolling max_failed_in_batch must be a whole number >= 0, not {failed!r}"
        )


def _check_whole(option: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RunnerOptionsError(f"rolling {option} must be a whole number >= 1, not {value!r}")
