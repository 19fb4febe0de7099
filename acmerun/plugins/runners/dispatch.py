"""The rolling runner's dispatcher: one ``run`` of ``RollingRunner`` over its hosts.

One dispatcher (the thread calling ``Rollout.execute``) owns all scheduling state; worker
threads only run hosts and post their results on a queue, so a host's completion costs a
constant amount of scheduling work whatever the number of groups. Between batches, with
no host in flight, the dispatcher asks the runner's ``Checkpoints`` (health budget, gate,
pause) whether the rollout goes on.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import deque
from queue import SimpleQueue
from typing import Protocol

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Result, Task

from acmerun.outcome import NotRun, NotRunKind, over_failure_limit
from acmerun.plugins.runners.batches import Checkpoints
from acmerun.results import failed_unreachable, not_run, refused_credentials
from acmerun.rollout import Batch, now
from acmerun.stop import StopToken

logger = logging.getLogger("acmerun.plugins.runners.rolling")


class Runner(Protocol):
    """What a rollout reads of its runner (``RollingRunner``)."""

    num_workers: int
    max_down: int
    on_failure: str
    max_fail_percentage: float | None
    max_failed_in_batch: int | None
    auth_failure_limit: int | None
    fleet_size: int | None
    failed_before: int
    token: StopToken
    checkpoints: Checkpoints
    batches: list[Batch] | None

    @property
    def stopped(self) -> bool: ...


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


class Rollout:
    """One ``run``: the hosts, their groups and results, and the scheduling state."""

    def __init__(
        self,
        runner: Runner,
        task: Task,
        hosts: list[Host],
        group_names: list[str],
        batches: list[list[int]],
        canary: bool = False,
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
        self.records = [
            Batch(n, tuple(hosts[i].name for i in batch), canary=canary and n == 1)
            for n, batch in enumerate(batches, 1)
        ]
        if runner.batches is not None:
            runner.batches[:] = self.records
        self.record: Batch | None = None  # the batch started last
        self.ran: list[int] = []  # the hosts of that batch that started
        self.ready: deque[_Group] = deque()
        self.events: SimpleQueue[_Event] = SimpleQueue()
        self.work: SimpleQueue[int | None] = SimpleQueue()
        self.running = 0
        self.busy_groups = 0
        self.pending = 0
        self.failed = runner.failed_before  # a resumed run's, before this part of it
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
                self._batch_ended()
                if not self.batches:
                    return
                self._next_batch()
                continue
            self._handle(self.events.get())

    def _next_batch(self) -> None:
        batch = self.batches.popleft()
        self.record = self.records[len(self.records) - len(self.batches) - 1]
        self.ran = []
        checks = self.runner.checkpoints
        stop = checks.health(
            self.record, [self.hosts[i] for i in batch], self.failed, self.fleet_size
        )
        if stop is not None or self.runner.stopped:
            self.batches.appendleft(batch)
            self._close(stop or self.runner.token.reason or NotRun.interrupted())
            return
        self.record.started = now()
        self._release(batch)

    def _batch_ended(self) -> None:
        """The batch just ended: its record, then the gate and the pause before the next one."""
        record = self.record  # a stop decided from now on is this batch's
        if record is None or record.ended is not None:
            return
        record.ended = now()
        record.failed = tuple(self.hosts[i].name for i in self.ran if self._failed(i))
        if self.closed is not None or self.runner.stopped:
            return
        checks = self.runner.checkpoints
        stop = checks.gate(record, self.task, [self.hosts[i] for i in self.ran])
        if stop is not None:
            self._close(stop)
        elif self.batches and not self.task.global_dry_run:  # nothing changed: no soak
            checks.pause(record)

    def _failed(self, index: int) -> bool:
        result = self.results[index]
        return result is not None and bool(result.failed)

    def _release(self, batch: list[int]) -> None:
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
            self.ran.append(index)
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
        most = runner.max_failed_in_batch
        if most is not None and self.failed > most:
            self._close(NotRun(NotRunKind.FAILED_COUNT, limit=most, failed=self.failed))

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
        if self.record is not None and not self.record.stopped:
            self.record.stopped = reason.text()
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
