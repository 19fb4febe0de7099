"""The driver of a cluster run: shards submitted as Dask tasks, their hosts merged.

``run_on_cluster`` gets the hosts a local run would run (inventory, filter and
``--limit`` applied) and returns a ``HostOutcome`` for every one of them.

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
- The first SIGINT/SIGTERM: shards not started are cancelled and shards in
  flight stop as a local run does; their hosts that never started are
  ``interrupted``. A second one stops waiting: every host without a result is
  ``interrupted``.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, TextIO

from acmerun.acmeos.defaults import PASSWORD_ENV, USERNAME_ENV
from acmerun.config import known_secrets
from acmerun.distributed import ClusterAddress, parse_cluster, require_distributed
from acmerun.distributed.shards import Shard, host_values, plan_shards
from acmerun.distributed.worker import STREAM_SECONDS, Secret, ShardSpec, stop_names, topic
from acmerun.errors import BadOptions
from acmerun.outcome import HostOutcome, Status, StepOutcome
from acmerun.plugins.runners.rolling import INTERRUPTED_REASON
from acmerun.report.redact import Redactor

if TYPE_CHECKING:
    from nornir.core import Nornir

    from acmerun.run import RunOptions
    from acmerun.runbook.compiler import CompiledRunbook
    from acmerun.runbook.model import Runbook

logger = logging.getLogger("acmerun")

#: how long the driver waits for events in one slice (signals are handled between)
_WAIT_SLICE = 0.2
#: seconds to reach an existing scheduler
CONNECT_TIMEOUT = 10.0
_ACME_INVENTORY = "ACMEInventory"


class ClusterStop:
    """What a signal asked of the cluster run; ``stop()`` is safe in a signal handler."""

    def __init__(self) -> None:
        self.requested = False

    def stop(self) -> None:
        """Stop the run across the cluster (applied by the driver's loop)."""
        self.requested = True


def run_on_cluster(
    nr: Nornir,
    selected: list[str],
    runbook: Runbook,
    compiled: CompiledRunbook,
    options: RunOptions,
    stop: Any,
    out: TextIO,
) -> dict[str, HostOutcome]:
    """Run ``selected`` on the cluster ``options.cluster``; an outcome for every host."""
    address = parse_cluster(options.cluster or "")
    dask = require_distributed()
    hosts = nr.inventory.hosts
    shards = plan_shards(
        options.shard_by,
        selected,
        host_values(hosts, options.shard_by),
        lambda name: compiled.group_of(hosts[name]),
    )
    signal_stop = ClusterStop()
    stop.runner = signal_stop

    redactor = Redactor(known_secrets())

    def say(line: str) -> None:
        if not options.quiet:
            print(redactor.text(line), file=out, flush=True)

    with _client(dask, address) as client:
        plural = "s" * (len(shards) != 1)
        say(f"cluster: {address}, {len(shards)} shard{plural} by {options.shard_by}")
        specs = _specs(shards, len(selected), runbook, options, nr)
        run = _ClusterRun(
            dask, client, shards, specs, len(selected), runbook, signal_stop, stop, say
        )
        return run.execute()


@contextmanager
def _client(dask: Any, address: ClusterAddress) -> Iterator[Any]:
    if address.local:
        cluster = dask.LocalCluster(
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


def _specs(
    shards: list[Shard], total: int, runbook: Runbook, options: RunOptions, nr: Nornir
) -> list[ShardSpec]:
    from acmerun.run import _inventory_url, workers_for

    plugin = runbook.inventory.plugin
    inventory: dict[str, Any] = dict(runbook.inventory.options)
    if plugin == _ACME_INVENTORY:
        url = _inventory_url(runbook, options.config)
        if not url:
            from acmerun.plugins.inventory.acme import embedded_lab

            lab = embedded_lab()
            url = lab.url if lab is not None else None
        inventory["url"] = url
    # what a local run's connections use: the inventory defaults (config-file credentials
    # were put there), else the environment; workers fall back to the factory ones
    username = nr.inventory.defaults.username or os.environ.get(USERNAME_ENV)
    password = nr.inventory.defaults.password or os.environ.get(PASSWORD_ENV)
    workers = workers_for(runbook, options)
    text = options.runbook.read_text(encoding="utf-8")
    run_id = uuid.uuid4().hex[:12]
    specs = []
    for shard in shards:
        shard_inventory = dict(inventory)
        if plugin == _ACME_INVENTORY and shard.key == "site" and "(none)" not in shard.values:
            shard_inventory["filter_sites"] = list(shard.values)
        specs.append(
            ShardSpec(
                run_id=run_id,
                shard=shard.name,
                hosts=shard.hosts,
                runbook_text=text,
                runbook_path=str(options.runbook),
                inventory_plugin=plugin,
                inventory_options=shard_inventory,
                total_hosts=total,
                workers=workers,
                check=options.check,
                extra_vars=dict(options.extra_vars),
                tags=options.tags,
                skip_tags=options.skip_tags,
                username=username or None,
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
        total: int,
        runbook: Runbook,
        signal_stop: ClusterStop,
        stop: Any,
        say: Any,
    ) -> None:
        self.dask = dask
        self.client = client
        self.shards = shards
        self.specs = specs
        self.total = total
        self.limit = runbook.strategy.max_fail_percentage
        self.signal_stop = signal_stop
        self.stop = stop
        self.say = say
        self.results: dict[str, dict[str, Any]] = {}
        self.failed = 0
        self.started: dict[str, list[str]] = {}  # shard -> workers of its attempts
        self.fate: dict[str, tuple[Status, str]] = {}  # shard -> status, reason for its others
        self.halted: dict[str, str] | None = None
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
            while pending and not self.stop.abandon:
                self._drain()
                for future in [f for f in pending if f.done()]:
                    self._finished(future, *pending.pop(future))
                if self.halted is None and self.signal_stop.requested:
                    self._halt("interrupt", INTERRUPTED_REASON)
                if self.halted is None and self._over_limit():
                    reason = (
                        f"not started: max_fail_percentage {self.limit:g}% exceeded "
                        f"({self.failed} of {self.total} hosts failed)"
                    )
                    self._halt("max_fail", reason)
                submit()
            for shard, _ in waiting:
                self.fate[shard.name] = (
                    (Status.SKIPPED, self.halted["reason"])
                    if self.halted is not None and self.halted["cause"] == "max_fail"
                    else (Status.INTERRUPTED, INTERRUPTED_REASON)
                )
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
            if data.get("status") in (Status.FAILED.value, Status.UNREACHABLE.value):
                self.failed += 1

    def _over_limit(self) -> bool:
        return self.limit is not None and self.failed * 100 > self.limit * self.total

    def _halt(self, cause: str, reason: str) -> None:
        self.halted = {"cause": cause, "reason": reason}
        logger.info("cluster run stops: %s", reason)
        self._why.set(self.halted)
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
            self.fate[shard.name] = (Status.UNREACHABLE, reason)
            self.say(f"shard {shard.name}: lost after {len(attempts)} attempts on dying workers")
            return
        except Exception as exc:
            cause = " ".join(str(exc).split()) or type(exc).__name__
            reason = f"shard {shard.name} failed on its worker: {type(exc).__name__}: {cause}"
            self.fate[shard.name] = (Status.UNREACHABLE, reason)
            self.say(f"shard {shard.name}: {reason}")
            return
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
            status, reason = self.fate.get(
                shard.name, (Status.INTERRUPTED, "interrupted before this host finished")
            )
            for name in shard.hosts:
                data = self.results.get(name)
                found[name] = (
                    host_outcome(name, data)
                    if data is not None
                    else HostOutcome(name, status, error=reason)
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


def host_outcome(name: str, data: Mapping[str, Any]) -> HostOutcome:
    """A host's result as a worker sent it (``HostOutcome.to_dict``), back as a HostOutcome."""
    return HostOutcome(
        name=name,
        status=Status(data["status"]),
        steps=[_step(s) for s in data.get("steps", [])],
        error=data.get("error"),
        duration=float(data.get("duration") or 0.0),
    )


def _step(data: Mapping[str, Any]) -> StepOutcome:
    return StepOutcome(
        name=data["name"],
        task=data["task"],
        status=Status(data["status"]),
        changed=bool(data.get("changed")),
        failed=bool(data.get("failed")),
        attempts=int(data.get("attempts") or 0),
        duration=float(data.get("duration") or 0.0),
        result=data.get("result"),
        error=data.get("error"),
        steps=[_step(s) for s in data.get("steps", [])],
    )


__all__ = ["STREAM_SECONDS", "ClusterStop", "host_outcome", "run_on_cluster"]
