"""The driver of a cluster run: shards submitted as Dask tasks, their hosts merged.

``ClusterExecutor`` is the session's ``Executor`` for ``--cluster``: it gets the
prepared run (inventory, filter and ``--limit`` applied, every selected host's
redundancy group known) and returns a ``HostOutcome`` for every selected host.

What holds under faults:

- A host's result is the first one that reached the driver: shards stream hosts
  as they finish, so a worker that dies keeps the hosts it finished.
- A worker that dies mid-shard: Dask runs the shard again on another worker
  (the scheduler's ``allowed-failures``, 3 by default); once that is exhausted
  (``KilledWorker``), or when the task fails on the worker, every host of the
  shard that has no result is ``unreachable`` with the reason.
- ``max_fail_percentage`` counts failed and unreachable hosts over the whole
  run: once it is crossed, shards not started yet never start (their hosts are
  ``skipped`` with the reason), and shards in flight start no new host within
  about ``STREAM_SECONDS`` twice (hosts that started meanwhile run to their end).
- ``auth_failure_limit`` counts the hosts whose device refused the credentials
  over the whole run, decided here as ``max_fail_percentage`` is (each shard's
  runner also stops at the limit within its own hosts); the reason goes on the
  run's stop token for the run's summary line.
- The first SIGINT/SIGTERM: shards not started are cancelled and shards in
  flight stop as a local run does; their hosts that never started are
  ``interrupted``. A second one stops waiting: every host without a result is
  ``interrupted``.
"""

from __future__ import annotations

import itertools
import logging
import queue
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TextIO

from acmerun.acmeos.defaults import PASSWORD_ENV, USERNAME_ENV
from acmerun.defaults import INVENTORY_PLUGIN
from acmerun.distributed import ClusterAddress, require_distributed
from acmerun.distributed.rollout import is_rollout, roll_out, shard_settings
from acmerun.distributed.shards import Shard, host_values, plan_shards
from acmerun.distributed.worker import (
    REFUSED,
    STREAM_SECONDS,
    Secret,
    ShardSpec,
    stop_names,
    topic,
)
from acmerun.errors import BadOptions
from acmerun.outcome import FAILURES, HostOutcome, NotRun, NotRunKind, Status, over_failure_limit
from acmerun.secrets import printable
from acmerun.session.record import PreparedRun, RunnerSettings
from acmerun.stop import StopToken

logger = logging.getLogger("acmerun")

#: how long the driver waits for events in one slice (signals are handled between)
_WAIT_SLICE = 0.2
#: seconds to reach an existing scheduler
CONNECT_TIMEOUT = 10.0


class ClusterExecutor:
    """Runs a prepared run's hosts in shards on a Dask cluster (the session's ``Executor``)."""

    def __init__(self, address: ClusterAddress, shard_by: str = "site") -> None:
        self.address = address
        self.shard_by = shard_by

    def execute(self, run: PreparedRun, out: TextIO) -> dict[str, HostOutcome]:
        """Run every selected host on the cluster; an outcome for every one of them."""
        dask = require_distributed()
        hosts = run.nornir.inventory.hosts
        shards = plan_shards(
            self.shard_by,
            list(run.selected),
            host_values(hosts, self.shard_by),
            run.groups.__getitem__,
        )

        def say(line: str) -> None:
            if not run.options.quiet:
                print(printable(run.secrets.mask(line)), file=out, flush=True)

        username, password = _credentials(run)
        env = {USERNAME_ENV: username, PASSWORD_ENV: password}
        with _client(dask, self.address, {k: v for k, v in env.items() if v}) as client:
            plural = "s" * (len(shards) != 1)
            say(f"cluster: {self.address}, {len(shards)} shard{plural} by {self.shard_by}")
            # a password travels only encrypted: local workers inherit it, tcp:// ones own theirs
            scheduler = self.address.scheduler or ""
            sent = password if scheduler.startswith("tls://") else None
            if not is_rollout(run.runner):
                specs = _specs(shards, run, username, sent)
                return _ClusterRun(dask, client, shards, specs, run, say).execute()

            def run_batch(names: Sequence[str], failed: int) -> tuple[dict[str, HostOutcome], Any]:
                mine = plan_shards(
                    self.shard_by,
                    list(names),
                    host_values(hosts, self.shard_by),
                    run.groups.__getitem__,
                )
                specs = _specs(mine, run, username, sent, shard_settings(run.runner))
                batch = _ClusterRun(dask, client, mine, specs, run, say, failed=failed)
                return batch.execute(), batch.halted

            return roll_out(run, run_batch)


@contextmanager
def _client(dask: Any, address: ClusterAddress, env: dict[str, str]) -> Iterator[Any]:
    if address.local:
        cluster = dask.LocalCluster(
            env=env,  # the worker processes' own environment: the password never goes by Dask
            n_workers=address.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        try:
            with dask.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = dask.Client(address.scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise BadOptions(f"cannot reach the Dask scheduler at {address.scheduler}: {exc}") from None
    with client:
        yield client


def _credentials(run: PreparedRun) -> tuple[str | None, str | None]:
    """The username and password the driver logs in with."""
    password = run.nornir.inventory.defaults.password or run.credentials.password
    username = run.nornir.inventory.defaults.username or run.credentials.username
    return username or None, password or None


def _specs(
    shards: list[Shard],
    run: PreparedRun,
    username: str | None,
    password: str | None,
    runner: RunnerSettings | None = None,
) -> list[ShardSpec]:
    inventory = run.inventory
    text = run.options.runbook.read_text(encoding="utf-8")
    run_id = uuid.uuid4().hex[:12]
    specs = []
    for shard in shards:
        source = inventory
        by_site = inventory.plugin == INVENTORY_PLUGIN and shard.key == "site"
        if by_site and "(none)" not in shard.values:
            options = {**inventory.options, "filter_sites": list(shard.values)}
            source = type(inventory)(inventory.plugin, options, inventory.embedded)
        specs.append(
            ShardSpec(
                run_id=run_id,
                shard=shard.name,
                hosts=shard.hosts,
                runbook_text=text,
                runbook_path=str(run.options.runbook),
                inventory=source,
                runner=runner or run.runner,
                total_hosts=len(run.selected),
                check=run.options.check,
                extra_vars=dict(run.options.extra_vars),
                tags=run.options.tags,
                skip_tags=run.options.skip_tags,
                username=username,
                password=Secret(password) if password else None,
            )
        )
    return specs


class _ClusterRun:
    """One run's shards in flight: events in, stop and max_fail out, results merged."""

    def __init__(
        self,
        dask: Any,
        client: Any,
        shards: list[Shard],
        specs: list[ShardSpec],
        run: PreparedRun,
        say: Any,
        failed: int = 0,
    ) -> None:
        self.dask = dask
        self.client = client
        self.shards = shards
        self.specs = specs
        self.total = len(run.selected)
        self.limit = run.runner.max_fail_percentage
        self.auth_limit = run.runner.auth_failure_limit or None
        self.refused = 0
        self.last_refused = ""
        self.stop: StopToken = run.stop
        self.say = say
        self.results: dict[str, dict[str, Any]] = {}
        self.failed = failed  # the run's, batches before this one included
        self.most_failed = run.runner.max_failed_in_batch
        self.started: dict[str, list[str]] = {}  # shard -> workers of its attempts
        self.fate: dict[str, NotRun] = {}  # shard -> why its hosts without a result have none
        self.halted: NotRun | None = None
        self.events: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def execute(self) -> dict[str, HostOutcome]:
        run_id = self.specs[0].run_id if self.specs else ""
        self.client.subscribe_topic(topic(run_id), self.events.put)
        event_name, why_name = stop_names(run_id)
        self._stop_event = self.dask.Event(event_name, client=self.client)
        self._why = self.dask.Variable(why_name, client=self.client)
        advertised = _advertised(self.client)
        from acmerun.distributed.worker import run_shard

        waiting = list(zip(self.shards, self.specs, strict=True))
        pending: dict[Any, tuple[Shard, ShardSpec]] = {}
        capacity = _Capacity(self.client)
        numbers = itertools.count()

        def submit() -> None:
            while waiting and self.halted is None and len(pending) < capacity.threads():
                shard, spec = waiting.pop(0)
                future = self.client.submit(
                    run_shard,
                    spec,
                    key=f"acmerun-shard-{run_id}-{next(numbers)}",
                    resources=shard.resources(advertised) or None,
                    priority=len(shard.hosts),
                    pure=False,
                )
                pending[future] = (shard, spec)

        try:
            submit()
            while pending and not self.stop.abandoned:
                self._drain()
                for future in [f for f in pending if f.done()]:
                    self._finished(future, *pending.pop(future))
                if self.halted is None and self.stop.interrupted:
                    self._halt(NotRun.interrupted())
                if self.halted is None and over_failure_limit(self.limit, self.failed, self.total):
                    assert self.limit is not None
                    self._halt(NotRun.failure_limit(self.limit, self.failed, self.total))
                most = self.most_failed
                if self.halted is None and most is not None and self.failed > most:
                    self._halt(NotRun(NotRunKind.FAILED_COUNT, limit=most, failed=self.failed))
                if self.halted is None and self.auth_limit and self.refused >= self.auth_limit:
                    reason = NotRun.auth_limit(self.auth_limit, self.refused, self.last_refused)
                    self.stop.request(reason)
                    self._halt(reason)
                submit()
            for shard, _ in waiting:
                self.fate[shard.name] = self.halted or NotRun.interrupted()
                self.say(f"shard {shard.name}: {len(shard.hosts)} hosts not started")
            self._drain(wait=False)
        finally:
            with suppress(Exception):
                self.client.unsubscribe_topic(topic(run_id))
            if not pending:  # an abandoned shard may still read them
                with suppress(Exception):
                    self._why.delete()
                    self._stop_event.clear()
        return self._outcomes()

    def _drain(self, wait: bool = True) -> None:
        try:
            event = self.events.get(timeout=_WAIT_SLICE) if wait else self.events.get_nowait()
            while True:
                self._event(event[1])
                event = self.events.get_nowait()
        except queue.Empty:
            pass

    def _event(self, message: Mapping[str, Any]) -> None:
        shard = str(message.get("shard"))
        if message.get("kind") == "started":
            self.started.setdefault(shard, []).append(str(message.get("worker")))
        elif message.get("kind") == "hosts":
            self._keep(message.get("hosts") or {})

    def _keep(self, hosts: Mapping[str, dict[str, Any]]) -> None:
        for name, data in hosts.items():
            if name in self.results:
                continue
            self.results[name] = data
            if Status(data.get("status")) in FAILURES:
                self.failed += 1
            if data.get(REFUSED) is True:
                self.refused += 1
                self.last_refused = name

    def _halt(self, reason: NotRun) -> None:
        self.halted = reason
        logger.info("cluster run stops: %s", reason.text())
        self._why.set(reason.to_dict())
        self._stop_event.set()
        # submitted shards are not cancelled: one may already run on a worker without the
        # driver knowing yet. Each sees the stop as it starts and reports its hosts not
        # started; waiting for them keeps the lock held until no device is in flight.

    def _finished(self, future: Any, shard: Shard, spec: ShardSpec) -> None:
        attempts = self.started.get(shard.name, [])
        try:
            result = future.result()
        except self.dask.KilledWorker as exc:
            reason = f"shard {shard.name} lost: the workers running it died ({exc})"
            self.fate[shard.name] = NotRun(NotRunKind.LOST, detail=reason)
            self.say(f"shard {shard.name}: lost after {len(attempts)} attempts on dying workers")
            return
        except Exception as exc:
            logger.error("shard %s failed on its worker", shard.name, exc_info=exc)
            cause = " ".join(str(exc).split()) or type(exc).__name__
            reason = f"shard {shard.name} failed on its worker: {type(exc).__name__}: {cause}"
            self.fate[shard.name] = NotRun(NotRunKind.LOST, detail=reason)
            self.say(f"shard {shard.name}: {reason}")
            return
        for level, line in result.get("logs", ()):
            logger.log(level, "worker %s: %s", result["worker"], line)
        self._keep(result["hosts"])
        retried = ""
        if len(attempts) > 1:
            retried = f" (attempt {len(attempts)}; lost: {', '.join(attempts[:-1])})"
        self.say(
            f"shard {shard.name}: {len(shard.hosts)} hosts in {result['duration']:.1f} s"
            f" on {result['worker']}{retried}"
        )

    def _outcomes(self) -> dict[str, HostOutcome]:
        found: dict[str, HostOutcome] = {}
        for shard in self.shards:
            reason = self.fate.get(shard.name, NotRun(NotRunKind.UNFINISHED))
            for name in shard.hosts:
                data = self.results.get(name)
                found[name] = (
                    HostOutcome.from_dict(name, data)
                    if data is not None
                    else HostOutcome.never_run(name, reason)
                )
        return found


class _Capacity:
    """Shards the cluster runs at once (its worker threads), read again every few seconds.

    Shards are submitted no faster than that, so a shard not yet started is still in
    the driver's hands when max_fail_percentage is crossed or a signal comes.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.read_at = 0.0
        self.count = 1

    def threads(self) -> int:
        now = time.monotonic()
        if now - self.read_at > 2.0:
            self.read_at = now
            with suppress(Exception):
                workers = _workers(self.client).values()
                self.count = max(1, sum(int(w.get("nthreads") or 1) for w in workers))
        return self.count


def _workers(client: Any) -> dict[str, Any]:
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:
        info = client.scheduler_info()
    workers: dict[str, Any] = info.get("workers", {})
    return workers


def _advertised(client: Any) -> set[str]:
    """The resources some worker of the cluster offers (``dask worker --resources``)."""
    return {r for w in _workers(client).values() for r in (w.get("resources") or {})}


__all__ = ["STREAM_SECONDS", "ClusterExecutor"]
