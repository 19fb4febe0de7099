"""One shard on a Dask worker: its own nornir, the rolling runner, results streamed back.

``run_shard(spec)`` is the Dask task. It loads the runbook from its text, builds
nornir over the shard's hosts from the inventory service the driver names (a
worker never starts an embedded lab), runs the compiled runbook, and returns
every host's result as plain data. While it runs, a watcher thread sends the
hosts that finished to the driver every ``STREAM_SECONDS`` (a Dask event on the
run's topic) and reads the run's stop event: ``interrupt`` stops it as
Ctrl-C stops a local run, ``max_fail`` starts no new host and marks the rest
``skipped`` with the driver's reason.

A shard task is idempotent as far as acmerun goes (its steps are: an upgrade to
the version a device already runs changes nothing), so Dask may run it again on
another worker when the first one dies.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acmerun.outcome import HostOutcome, Status
from acmerun.plugins.processors import Processor
from acmerun.plugins.runners.rolling import INTERRUPTED_REASON

if TYPE_CHECKING:
    from nornir.core.inventory import Host
    from nornir.core.task import MultiResult, Task

    from acmerun.runbook.compiler import CompiledRunbook

logger = logging.getLogger(__name__)

#: how often a running shard sends finished hosts and reads the stop variable
STREAM_SECONDS = 0.5
#: the plugin a worker must never let start an embedded lab
_ACME_INVENTORY = "ACMEInventory"
_MAX_FAIL_TEXT = re.compile(r"max_fail_percentage \S+% exceeded \((\d+) of \d+ hosts failed\)")


class Secret:
    """A password on its way to a worker: pickled as is, never shown in a repr or a log."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret('********')"


@dataclass(frozen=True)
class ShardSpec:
    """Everything a worker needs to run one shard; picklable, no nornir objects."""

    run_id: str
    shard: str
    hosts: tuple[str, ...]
    runbook_text: str
    runbook_path: str
    inventory_plugin: str
    inventory_options: Mapping[str, Any]
    total_hosts: int
    workers: int
    check: bool = False
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    username: str | None = None
    password: Secret | None = None

    @property
    def topic(self) -> str:
        """The Dask event topic the shard streams on."""
        return topic(self.run_id)


def topic(run_id: str) -> str:
    """The Dask event topic of a run: shards start, hosts finish."""
    return f"acmerun-{run_id}"


def stop_names(run_id: str) -> tuple[str, str]:
    """The Dask event the driver sets to stop a run, and the variable saying why.

    The variable holds ``{"cause": "interrupt" | "max_fail", "reason": ...}``.
    """
    return f"acmerun-{run_id}-stop", f"acmerun-{run_id}-why"


def run_shard(spec: ShardSpec) -> dict[str, Any]:
    """Run the shard's hosts; ``{"shard", "attempt", "worker", "duration", "hosts"}``."""
    from acmerun.distributed import require_distributed

    dask = require_distributed()
    worker = dask.get_worker()
    attempt = uuid.uuid4().hex[:8]
    header = {"shard": spec.shard, "attempt": attempt, "worker": worker.address}
    worker.log_event(spec.topic, {"kind": "started", **header})
    started = time.monotonic()
    event, why = stop_names(spec.run_id)
    stop = _Stop(dask.Event(event), dask.Variable(why), spec.total_hosts)
    stop.check()
    if stop.cause is not None:
        hosts = {name: stop.unstarted(name) for name in spec.hosts}
    else:
        hosts = _run(spec, stop, lambda batch: worker.log_event(spec.topic, {**header, **batch}))
    return {**header, "duration": time.monotonic() - started, "hosts": hosts}


def _run(spec: ShardSpec, stop: _Stop, send: Any) -> dict[str, dict[str, Any]]:
    from nornir import InitNornir

    from acmerun.run import _register_plugins
    from acmerun.runbook.compiler import compile_runbook
    from acmerun.runbook.loader import load_runbook_text

    runbook = load_runbook_text(spec.runbook_text, spec.runbook_path)
    compiled = compile_runbook(
        runbook, extra_vars=dict(spec.extra_vars), tags=spec.tags, skip_tags=spec.skip_tags
    )
    options = dict(spec.inventory_options)
    if spec.inventory_plugin == _ACME_INVENTORY and not options.get("url"):
        raise ValueError("a shard needs the inventory service's url (never an embedded lab)")
    _register_plugins()
    nr = InitNornir(
        inventory={"plugin": spec.inventory_plugin, "options": options},
        runner={"plugin": "RollingRunner", "options": _runner_options(spec, compiled)},
        logging={"enabled": False},
        dry_run=spec.check,
    )
    if spec.username:
        nr.inventory.defaults.username = spec.username
    if spec.password is not None:
        nr.inventory.defaults.password = spec.password.value
    wanted = set(spec.hosts)
    nr = nr.filter(filter_func=lambda host: host.name in wanted)
    stream = _Stream(compiled, stop)
    stop.attach(nr.runner, compiled)
    watcher = threading.Thread(
        target=_watch, args=(stream, stop, send), name="acmerun-shard-watch", daemon=True
    )
    watcher.start()
    try:
        result = nr.with_processors([stream]).run(task=compiled.host_task, name=runbook.name)
    finally:
        stream.done.set()
        watcher.join()
    found = sorted(set(nr.inventory.hosts))
    hosts = {
        name: stop.adjust(_plain(o.to_dict()))
        for name, o in compiled.outcomes(found, result).items()
    }
    for name in sorted(wanted - set(found)):
        reason = "not in the inventory as the worker sees it"
        hosts[name] = _plain(HostOutcome(name, Status.UNREACHABLE, error=reason).to_dict())
    return hosts


def _runner_options(spec: ShardSpec, compiled: CompiledRunbook) -> dict[str, Any]:
    """The rolling runner's options; max_fail_percentage scaled to the whole run's hosts."""
    strategy = compiled.runbook.strategy
    options: dict[str, Any] = {"num_workers": spec.workers, "serial": strategy.serial}
    limit = strategy.max_fail_percentage
    if limit is not None and spec.hosts:
        scaled = limit * spec.total_hosts / len(spec.hosts)
        options["max_fail_percentage"] = scaled if scaled <= 100 else None
    if strategy.rolling is not None:
        options["group_by"] = compiled.group_of
        options["max_down"] = strategy.rolling.max_down
        options["on_failure"] = strategy.rolling.on_failure
    return options


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready data only (Dask events carry msgpack, results may hold anything)."""
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return plain


class _Stop:
    """The driver's stop variable as this shard last read it, and what it means for hosts."""

    def __init__(self, event: Any, variable: Any, total_hosts: int) -> None:
        self.event = event
        self.variable = variable
        self.total_hosts = total_hosts
        self.cause: str | None = None
        self.reason = INTERRUPTED_REASON
        self.runner: Any = None
        self.compiled: CompiledRunbook | None = None
        #: the runbook's max_fail_percentage (a shard's runner gets it scaled to the shard)
        self.limit = 0.0

    def check(self) -> None:
        if self.cause is not None:
            return
        try:
            if not self.event.is_set():
                return
            value = self.variable.get(timeout=5)
        except (TimeoutError, OSError):
            value = {"cause": "interrupt"}
        if not isinstance(value, dict):
            return
        self.reason = str(value.get("reason") or INTERRUPTED_REASON)
        self.cause = str(value.get("cause"))
        self._apply()

    def attach(self, runner: Any, compiled: CompiledRunbook) -> None:
        """The shard's runner and runbook, stopped at once if the run already is."""
        self.runner, self.compiled = runner, compiled
        self.limit = compiled.runbook.strategy.max_fail_percentage or 0.0
        self._apply()

    def _apply(self) -> None:
        if self.cause is None:
            return
        if self.runner is not None:
            self.runner.stop()
        if self.cause == "interrupt" and self.compiled is not None:
            self.compiled.interrupt()

    def unstarted(self, name: str) -> dict[str, Any]:
        status = Status.SKIPPED if self.cause == "max_fail" else Status.INTERRUPTED
        return _plain(HostOutcome(name, status, error=self.reason).to_dict())

    def adjust(self, host: dict[str, Any]) -> dict[str, Any]:
        """A host as the whole run sees it: stopped by the driver, or by max_fail_percentage."""
        error = host.get("error") or ""
        if (
            self.cause == "max_fail"
            and host["status"] == "interrupted"
            and error == INTERRUPTED_REASON
        ):
            host.update(status=Status.SKIPPED.value, error=self.reason)
        elif host["status"] == "skipped" and error.startswith("not started: max_fail_percentage"):
            whole = f"{self.limit:g}% exceeded (\\1 of {self.total_hosts} hosts failed)"
            host["error"] = _MAX_FAIL_TEXT.sub(f"max_fail_percentage {whole}", error)
        return host


class _Stream(Processor):
    """A nornir processor keeping the hosts that finished, for the watcher to send."""

    def __init__(self, compiled: CompiledRunbook, stop: _Stop) -> None:
        self.compiled = compiled
        self.stop = stop
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._finished: list[tuple[str, MultiResult]] = []

    def take(self) -> dict[str, dict[str, Any]]:
        from nornir.core.task import AggregatedResult

        with self._lock:
            finished, self._finished = self._finished, []
        if not finished:
            return {}
        aggregated = AggregatedResult("stream")
        aggregated.update(finished)
        outcomes = self.compiled.outcomes([name for name, _ in finished], aggregated)
        return {name: self.stop.adjust(_plain(o.to_dict())) for name, o in outcomes.items()}

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        with self._lock:
            self._finished.append((host.name, result))


def _watch(stream: _Stream, stop: _Stop, send: Any) -> None:
    while not stream.done.wait(STREAM_SECONDS):
        try:
            stop.check()
            batch = stream.take()
            if batch:
                send({"kind": "hosts", "hosts": batch})
        except Exception:  # the worker is closing: the task's own result still says it all
            logger.debug("shard watcher", exc_info=True)
            return
