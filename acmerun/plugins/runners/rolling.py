"""Rolling execution that never takes down a redundancy group: the runner ``RollingRunner``.

A nornir runner plugin (``runner={"plugin": "RollingRunner", "options": {...}}``). Hosts
are grouped by ``group_by``; at most ``max_down`` hosts of a group and ``num_workers``
hosts overall are in flight at once; ready groups take turns. A failed host halts its
group, the whole run, or nothing (``on_failure``); ``max_fail_percentage``,
``auth_failure_limit`` and ``stop()`` (or the run's stop token) stop new hosts from
starting anywhere. Every host the runner did
not run is in the result all the same, with the structured reason (``acmerun.results.not_run``).

One dispatcher (the thread calling ``run``) owns all scheduling state; worker threads
only run hosts and post their results on a queue, so a host's completion costs a constant
amount of scheduling work whatever the number of groups.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import deque
from queue import SimpleQueue

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Result, Task

from acmerun.defaults import (
    DEFAULT_AUTH_FAILURE_LIMIT,
    DEFAULT_MAX_DOWN,
    DEFAULT_ON_FAILURE,
    DEFAULT_WORKERS,
    ON_FAILURE,
)
from acmerun.outcome import NotRun, NotRunKind, over_failure_limit
from acmerun.plugins.runners.strategy import (
    GroupBy,
    RunnerOptionsError,
    Serial,
    group_namer,
    name_groups,
    parse_serial,
    serial_batches,
)
from acmerun.results import failed_unreachable, not_run, refused_credentials
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
        self.auth_failure_limit = auth_failure_limit or None
        self.num_workers = num_workers
        self.group_by = group_by
        self.max_down = max_down
        self.on_failure = on_failure
        self.max_fail_percentage = max_fail_percentage
        self.serial = serial
        self.fleet_size = fleet_size
        self.token = stop if stop is not None else StopToken()
        self._namer = group_namer(group_by)
        self._serial_sizes = parse_serial(serial)
        self._rollout: _Rollout | None = None
        self.token.on_stop(self._wake)

    def run(self, task: Task, hosts: list[Host]) -> AggregatedResult:
        """Run ``task`` over ``hosts``; every host is in the result, in the order given.

        Raises ``RunnerOptionsError`` before starting any host when ``group_by`` cannot
        name a host's redundancy group. A ``KeyboardInterrupt`` reaching the calling thread
        stops the run as ``stop()`` does, waits for the hosts in flight, and propagates.
        """
        groups = name_groups(self.group_by, self._namer, hosts)
        batches = serial_batches(self._serial_sizes, len(hosts))
        rollout = _Rollout(self, task, hosts, groups, batches)
        self._rollout = rollout
        try:
            return rollout.execute()
        finally:
            self._rollout = None

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

    def hosts_in_flight(self) -> int:
        """Hosts in flight now (for progress displays)."""
        rollout = self._rollout
        return rollout.running if rollout is not None else 0


def _check_whole(option: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RunnerOptionsError(f"rolling {option} must be a whole number >= 1, not {value!r}")


class _Group:
    __slots__ = ("halted", "name", "pending", "queued", "running")

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending: deque[int] = deque()  # released hosts not started, in input order
        self.running = 0
        self.queued = False  # in the ready deque
        self.halted: NotRun | None = None  # why the group's other hosts are skipped


#: a worker's report: (host index, its results); None wakes the dispatcher after stop()
_Event = tuple[int, MultiResult] | None


class _Rollout:
    """One ``run``: the hosts, their groups and results, and the scheduling state."""

    def __init__(
        self,
        runner: RollingRunner,
        task: Task,
        hosts: list[Host],
        group_names: list[str],
        batches: list[range],
    ) -> None:
        self.runner = runner
        self.task = task
        self.hosts = hosts
        self.results: list[MultiResult | None] = [None] * len(hosts)
        self.groups: dict[str, _Group] = {}
        self.group_of: list[_Group] = []
        for name in group_names:
            group = self.groups.get(name)
            if group is None:
                group = self.groups[name] = _Group(name)
            self.group_of.append(group)
        self.batches = deque(batches)
        self.ready: deque[_Group] = deque()
        self.events: SimpleQueue[_Event] = SimpleQueue()
        self.work: SimpleQueue[int | None] = SimpleQueue()
        self.running = 0
        self.busy_groups = 0
        self.pending = 0
        self.failed = 0
        self.refused = 0  # hosts whose device refused the credentials
        self.fleet_size = runner.fleet_size or len(hosts)
        self.closed: NotRun | None = None

    def execute(self) -> AggregatedResult:
        workers = [
            threading.Thread(target=self._work, name=f"acmerun-rolling-{n}")
            for n in range(min(self.runner.num_workers, len(self.hosts)))
        ]
        for worker in workers:
            worker.start()
        try:
            self._loop()
        except BaseException:
            # start nothing more, and let the hosts in flight finish before propagating
            self._close(NotRun.interrupted())
            raise
        finally:
            for _ in workers:
                self.work.put(None)
            for worker in workers:
                worker.join()
        aggregated = AggregatedResult(self.task.name)
        for host, result in zip(self.hosts, self.results, strict=True):
            aggregated[host.name] = result if result is not None else self._lost(host)
        return aggregated

    def _loop(self) -> None:
        while True:
            reason = self.runner.token.reason
            if reason is not None:
                self._close(reason)
            self._dispatch()
            if self.running == 0 and self.pending == 0:
                if not self.batches:
                    return
                self._release(self.batches.popleft())
                continue
            self._handle(self.events.get())

    def _release(self, batch: range) -> None:
        for index in batch:
            group = self.group_of[index]
            if group.halted is not None:
                self._mark(index, group.halted)
                continue
            group.pending.append(index)
            self.pending += 1
            if not group.queued and group.running < self.runner.max_down:
                group.queued = True
                self.ready.append(group)

    def _dispatch(self) -> None:
        runner = self.runner
        while self.ready and self.running < runner.num_workers and self.closed is None:
            if runner.stopped:
                return
            group = self.ready.popleft()
            group.queued = False
            if not group.pending or group.running >= runner.max_down:
                continue
            index = group.pending.popleft()
            self.pending -= 1
            if group.running == 0:
                self.busy_groups += 1
            group.running += 1
            self.running += 1
            self.work.put(index)
            if group.pending and group.running < runner.max_down:
                group.queued = True
                self.ready.append(group)

    def _handle(self, event: _Event) -> None:
        if event is None:
            return
        index, result = event
        self.results[index] = result
        self.running -= 1
        group = self.group_of[index]
        group.running -= 1
        if group.running == 0:
            self.busy_groups -= 1
        if result.failed:
            self._host_failed(index, group, failed_unreachable(result))
            if refused_credentials(result):
                self._refused(index)
        if group.pending and not group.queued and self.closed is None:
            group.queued = True
            self.ready.append(group)

    def _host_failed(self, index: int, group: _Group, unreachable: bool) -> None:
        runner = self.runner
        self.failed += 1
        name = self.hosts[index].name
        if runner.on_failure == "halt_all":
            self._close(NotRun(NotRunKind.HALTED_FLEET, host=name, unreachable=unreachable))
        elif runner.on_failure == "halt_group" and group.halted is None:
            group.halted = NotRun(
                NotRunKind.HALTED_GROUP, host=name, group=group.name, unreachable=unreachable
            )
            happened = "was unreachable" if unreachable else "failed"
            logger.info("%s %s: halting redundancy group %s", name, happened, group.name)
            while group.pending:
                self.pending -= 1
                self._mark(group.pending.popleft(), group.halted)
        limit = runner.max_fail_percentage
        if limit is not None and over_failure_limit(limit, self.failed, self.fleet_size):
            self._close(NotRun.failure_limit(limit, self.failed, self.fleet_size))

    def _refused(self, index: int) -> None:
        self.refused += 1
        limit = self.runner.auth_failure_limit
        if limit is not None and self.refused >= limit:
            reason = NotRun.auth_limit(limit, self.refused, self.hosts[index].name)
            self.runner.token.request(reason)  # the run learns why (its summary line)
            self._close(reason)

    def _close(self, reason: NotRun) -> None:
        """Start no new host: mark every host not started yet with ``reason``."""
        if self.closed is not None:
            return
        self.closed = reason
        logger.info("no new host starts: %s", reason.text())
        unstarted: list[int] = []
        for group in self.groups.values():
            unstarted.extend(group.pending)
            group.pending.clear()
        self.pending = 0
        self.ready.clear()
        while self.batches:
            unstarted.extend(self.batches.popleft())
        for index in sorted(unstarted):
            self._mark(index, self.group_of[index].halted or reason)

    def _mark(self, index: int, reason: NotRun) -> None:
        host = self.hosts[index]
        self.results[index] = self._report(host, not_run(host, reason))

    def _lost(self, host: Host) -> MultiResult:
        return self._report(host, not_run(host, NotRun.interrupted()))

    def _report(self, host: Host, result: Result) -> MultiResult:
        """``result`` as the host's results, counted by the task's processors."""
        result.name = self.task.name  # type: ignore[assignment]  # nornir types it None
        results = MultiResult(self.task.name)
        results.append(result)
        try:
            self.task.processors.task_instance_completed(self.task, host, results)
        except Exception:
            logger.exception("a processor failed on the result of %s", host.name)
        return results

    def _work(self) -> None:
        while (index := self.work.get()) is not None:
            host = self.hosts[index]
            try:
                result = self.task.copy().start(host)
            except BaseException as e:
                logger.error("task %s escaped on %s", self.task.name, host.name, exc_info=True)
                result = self._report(
                    host, Result(host, result=traceback.format_exc(), exception=e, failed=True)
                )
            self.events.put((index, result))
