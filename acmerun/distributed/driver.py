"""The driver of a cluster run: shards submitted as Dask tasks, their hosts merged.

``ClusterExecutor`` is the session's ``Executor`` for ``--cluster``: it gets the
prepared run (inventory, filter and ``--limit`` applied, every selected host's
redundancy group known) and returns a ``HostOutcome`` for every selected host.

What holds under faults:

- A host's result is the first one that reached the driver: shards stream hosts
  as they finish, so a worker that dies keeps the hosts it finished.
- A worker that dies mid-shard: the shard is submitted again with its hosts that
  have no result (``recover.py``), while a worker is left; when it cannot be, or
  the task fails on the worker, those hosts are ``unreachable`` with the reason.
- ``max_fail_percentage`` counts failed and unreachable hosts over the whole
  run: once it is crossed, shards not started yet never start (their hosts are
  ``skipped`` with the reason), and shards in flight start no new host within
  about ``STREAM_SECONDS`` twice (hosts that started meanwhile run to their end).
- ``auth_failure_limit`` counts the hosts whose device refused the credentials
  over the whole run, decided here as ``max_fail_percentage`` is (each shard's
  runner also stops at the limit within its own hosts); the reason goes on the
  run's stop token for the run's summary line.
- ``connect_rate`` is across the run: each shard in flight logs in at its share
  of it (``share.py``), and the driver adds up what the shards waited.
- The first SIGINT/SIGTERM: shards not started are cancelled and shards in
  flight stop as a local run does; their hosts that never started are
  ``interrupted``. A second one stops waiting: every host without a result is
  ``interrupted``.

As a shard starts and as its hosts' results come back, the driver tells its
``Terminal`` (the session's live lines, given by the CLI), in the driver's
process: the progress count and each host's lines come from there.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import queue
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any, TextIO

from acmerun.acmeos.defaults import PASSWORD_ENV, USERNAME_ENV
from acmerun.distributed import ClusterAddress, require_distributed
from acmerun.distributed.capacity import Capacity, offered, workers
from acmerun.distributed.connect import client_of, credentials_of, shard_specs
from acmerun.distributed.recover import RERUN, Recovery
from acmerun.distributed.rollout import is_rollout, roll_out, shard_settings
from acmerun.distributed.shards import Shard, host_values, plan_shards
from acmerun.distributed.share import shards_at_once, with_share
from acmerun.distributed.terminal import Terminal, Terminals, plain_lines
from acmerun.distributed.worker import (
    REFUSED,
    STREAM_SECONDS,
    ShardSpec,
    stop_names,
    topic,
)
from acmerun.outcome import FAILURES, HostOutcome, NotRun, NotRunKind, Status, over_failure_limit
from acmerun.plugins.connections.rate import Waited
from acmerun.secrets import printable
from acmerun.session.record import PreparedRun
from acmerun.stop import StopToken

logger = logging.getLogger("acmerun")

#: how long the driver waits for events in one slice (signals are handled between)
_WAIT_SLICE = 0.2


class ClusterExecutor:
    """Runs a prepared run's hosts in shards on a Dask cluster (the session's ``Executor``)."""

    def __init__(
        self, address: ClusterAddress, shard_by: str = "site", live: Terminals | None = None
    ) -> None:
        self.address = address
        self.shard_by = shard_by
        self.live: Terminals = live or plain_lines

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

        username, password = credentials_of(run)
        env = {USERNAME_ENV: username, PASSWORD_ENV: password}
        with (
            client_of(dask, self.address, {k: v for k, v in env.items() if v}) as client,
            self.live(run, out) as terminal,
        ):

            def say(line: str) -> None:
                if not run.options.quiet:
                    terminal.say(printable(run.secrets.mask(line)))

            plural = "s" * (len(shards) != 1)
            say(f"cluster: {self.address}, {len(shards)} shard{plural} by {self.shard_by}")
            # a password travels only encrypted: local workers inherit it, tcp:// ones own theirs
            scheduler = self.address.scheduler or ""
            sent = password if scheduler.startswith("tls://") else None
            if not is_rollout(run.runner):
                specs = shard_specs(shards, run, username, sent)
                return _ClusterRun(
                    dask, client, shards, specs, run, say, terminal, failed=run.failed_before
                ).execute()

            def run_batch(names: Sequence[str], failed: int) -> tuple[dict[str, HostOutcome], Any]:
                mine = plan_shards(
                    self.shard_by,
                    list(names),
                    host_values(hosts, self.shard_by),
                    run.groups.__getitem__,
                )
                specs = shard_specs(mine, run, username, sent, shard_settings(run.runner))
                batch = _ClusterRun(dask, client, mine, specs, run, say, terminal, failed=failed)
                return batch.execute(), batch.halted

            return roll_out(run, run_batch)


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
        terminal: Terminal,
        failed: int = 0,
    ) -> None:
        self.dask = dask
        self.client = client
        self.shards = shards
        self.specs = specs
        self.total = run.run_size or len(run.selected)
        self.limit = run.runner.max_fail_percentage
        self.auth_limit = run.runner.auth_failure_limit or None
        self.rate = run.runner.connect_rate
        self.logins = run.logins
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
        self.terminal = terminal
        #: the run's event log: a shard's hosts all count as started when the shard starts
        self.log = run.events
        self.hosts_of = {shard.name: shard.hosts for shard in shards}

    def execute(self) -> dict[str, HostOutcome]:
        run_id = self.specs[0].run_id if self.specs else ""
        self.client.subscribe_topic(topic(run_id), self.events.put)
        event_name, why_name = stop_names(run_id)
        self._stop_event = self.dask.Event(event_name, client=self.client)
        self._why = self.dask.Variable(why_name, client=self.client)
        advertised = offered(self.client)
        from acmerun.distributed.worker import run_shard

        waiting = self.waiting = list(zip(self.shards, self.specs, strict=True))
        self.recovery = Recovery(self.dask, self.client)
        pending: dict[Any, tuple[Shard, ShardSpec]] = {}
        capacity = Capacity(self.client)
        numbers = itertools.count()
        at_once = shards_at_once(self.rate, len(self.shards), capacity.threads())

        def submit() -> None:
            while (
                waiting and self.halted is None and len(pending) < min(at_once, capacity.threads())
            ):
                shard, spec = waiting.pop(0)
                key = f"acmerun-shard-{run_id}-{next(numbers)}"
                self.recovery.submitted(key)
                spec = with_share(spec, self.rate, at_once)
                future = self.client.submit(
                    run_shard,
                    spec,
                    key=key,
                    resources=shard.resources(advertised) or None,
                    priority=len(shard.hosts),
                    pure=False,
                )
                pending[future] = (shard, spec)

        try:
            submit()
            while pending and not self.stop.abandoned:
                self._drain()
                self.terminal.poll()
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
            for shard, spec in waiting:
                self.fate[shard.name] = self.halted or NotRun.interrupted()
                self.say(f"shard {shard.name}: {len(spec.hosts)} hosts not started")
            self._drain(wait=False)
        finally:
            with suppress(Exception):
                self.client.unsubscribe_topic(topic(run_id))
            if not pending:  # an abandoned shard may still read them
                self.recovery.close()
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
            self.terminal.started(next((s.hosts for s in self.shards if s.name == shard), ()))
            if self.log is not None:
                hosts = self.hosts_of.get(shard, ())
                self.log.hosts_started(h for h in hosts if h not in self.results)
        elif message.get("kind") == "hosts":
            self._keep(message.get("hosts") or {})

    def _keep(self, hosts: Mapping[str, dict[str, Any]]) -> None:
        for name, data in hosts.items():
            if name in self.results:
                continue
            self.results[name] = data
            if self.log is not None:
                self.log.host_ended(HostOutcome.from_dict(name, data))
            if Status(data.get("status")) in FAILURES:
                self.failed += 1
            if data.get(REFUSED) is True:
                self.refused += 1
                self.last_refused = name
            self.terminal.host_done(HostOutcome.from_dict(name, data))

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
            if self._again(shard, spec):
                return
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
        if result.get(RERUN):  # Dask ran it again after its worker died
            if not self._again(shard, spec):
                self.fate[shard.name] = NotRun(NotRunKind.LOST, detail=f"shard {shard.name} lost")
            return
        for level, line in result.get("logs", ()):
            logger.log(level, "worker %s: %s", result["worker"], line)
        self._keep(result["hosts"])
        waited = result.get("login_rate")
        if self.logins is not None and waited is not None:
            self.logins.add(
                Waited(self.rate or 0, waited["logins"], waited["held"], waited["waited_seconds"])
            )
        retried = ""
        if len(attempts) > 1:
            retried = f" (attempt {len(attempts)}; lost: {', '.join(attempts[:-1])})"
        self.say(
            f"shard {shard.name}: {len(shard.hosts)} hosts in {result['duration']:.1f} s"
            f" on {result['worker']}{retried}"
        )

    def _again(self, shard: Shard, spec: ShardSpec) -> bool:
        """The shard's worker died: submit it again for its hosts without a result."""
        self._drain(wait=False)  # the hosts the lost worker sent before it died
        attempts = self.started.get(shard.name, [])
        alive = len(workers(self.client))
        left, notice = self.recovery.again(
            shard.name, spec.hosts, self.results, attempts[-1] if attempts else None, alive
        )
        self.say(notice)
        if left:
            self.waiting.insert(0, (shard, dataclasses.replace(spec, hosts=left)))
        return bool(left)

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


__all__ = ["STREAM_SECONDS", "ClusterExecutor"]
