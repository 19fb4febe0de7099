"""One shard on a Dask worker: its own nornir, the rolling runner, results streamed back.

``run_shard(spec)`` is the Dask task. It loads the runbook from its text, builds
nornir over the shard's hosts from the inventory the driver names (a worker never
starts an embedded lab) with the session's own ``init_nornir``, runs the compiled
runbook, and returns every host's outcome as plain data. While it runs, a watcher
thread sends the hosts that finished to the driver every ``STREAM_SECONDS`` (a Dask
event on the run's topic) and reads the run's stop event: the driver's ``NotRun``
reason goes onto the shard's stop token, which stops the shard's runner (and, for an
interrupt, its steps) as it stops a local run.

A shard task is idempotent as far as acmerun goes (its steps are: an upgrade to
the version a device already runs changes nothing). When Dask runs a task again
after its worker died, the task returns at once (``recover.first_run``): the driver
submits the shard again with only its hosts that have no result.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acmerun.acmeos.defaults import PASSWORD_ENV, USERNAME_ENV
from acmerun.defaults import INVENTORY_PLUGIN
from acmerun.outcome import HostOutcome, NotRun, NotRunKind
from acmerun.plugins.processors import Processor
from acmerun.results import decode, refused_credentials
from acmerun.secrets import MASK, Secrets
from acmerun.session.record import Credentials, InventorySource, RunnerSettings
from acmerun.stop import StopToken

if TYPE_CHECKING:
    from nornir.core.inventory import Host
    from nornir.core.task import MultiResult, Task


logger = logging.getLogger(__name__)

#: how often a running shard sends finished hosts and reads the stop variable
STREAM_SECONDS = 0.5

#: the most log lines one shard sends back to the driver's log
MAX_LOG_LINES = 10_000


class Secret:
    """A password on its way to a worker over ``tls://``: never shown in a repr or a log.

    On a local cluster and over ``tcp://`` no password travels: workers read
    ``$ACMEOS_USERNAME``/``$ACMEOS_PASSWORD`` from their own environment.
    """

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"


@dataclass(frozen=True)
class ShardSpec:
    """Everything a worker needs to run one shard; picklable, no nornir objects."""

    run_id: str
    shard: str
    hosts: tuple[str, ...]
    runbook_text: str
    runbook_path: str
    inventory: InventorySource
    runner: RunnerSettings
    #: the whole run's hosts: max_fail_percentage is a share of them
    total_hosts: int
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

    The variable holds the ``NotRun`` reason as ``NotRun.to_dict`` gives it.
    """
    return f"acmerun-{run_id}-stop", f"acmerun-{run_id}-why"


def run_shard(spec: ShardSpec) -> dict[str, Any]:
    """Run the shard's hosts; ``{"shard", "attempt", "worker", "duration", "hosts"}``."""
    from acmerun.distributed import require_distributed
    from acmerun.distributed.recover import RERUN, first_run

    dask = require_distributed()
    worker = dask.get_worker()
    attempt = uuid.uuid4().hex[:8]
    header = {"shard": spec.shard, "attempt": attempt, "worker": worker.address}
    if not first_run(dask, worker.get_current_task()):  # its worker died: the driver decides
        return {**header, RERUN: True, "duration": 0.0, "hosts": {}, "logs": []}
    worker.log_event(spec.topic, {"kind": "started", **header})
    started = time.monotonic()
    event, why = stop_names(spec.run_id)
    watch = _StopWatch(dask.Event(event), dask.Variable(why), StopToken())
    watch.check()
    reason = watch.token.reason
    if reason is not None:
        hosts = {name: _plain(HostOutcome.never_run(name, reason)) for name in spec.hosts}
        logs: list[tuple[int, str]] = []
        waited = None
    else:
        with _shard_log(_secrets(spec)) as captured:
            hosts, waited = _run(
                spec, watch, lambda batch: worker.log_event(spec.topic, {**header, **batch})
            )
        logs = captured.lines
    duration = time.monotonic() - started
    return {**header, "duration": duration, "hosts": hosts, "logs": logs, "login_rate": waited}


def _credentials(spec: ShardSpec) -> Credentials:
    """The shard's credentials: sent with it (``tls://``), else the worker's environment's."""
    if spec.password is not None:
        return Credentials(spec.username, spec.password.value)
    return Credentials(
        spec.username or os.environ.get(USERNAME_ENV) or None,
        os.environ.get(PASSWORD_ENV) or None,
    )


def _secrets(spec: ShardSpec) -> Secrets:
    return Secrets([_credentials(spec).password, os.environ.get(PASSWORD_ENV)])


class _ShardLog(logging.Handler):
    """The shard's log records, masked, for the driver to write to the run's log."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__(logging.INFO)
        self.secrets = secrets
        self.lines: list[tuple[int, str]] = []
        self.setFormatter(logging.Formatter("%(name)s [%(threadName)s] %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) >= MAX_LOG_LINES:
            return
        try:
            self.lines.append((record.levelno, self.secrets.mask(self.format(record))))
        except Exception:
            self.handleError(record)


@contextmanager
def _shard_log(secrets: Secrets) -> Iterator[_ShardLog]:
    """Every record of the shard (acmerun's and nornir's from INFO, others' from WARNING)
    is kept, masked, instead of reaching the worker's stderr."""
    handler = _ShardLog(secrets)
    root = logging.getLogger()
    ours = [logging.getLogger(name) for name in ("acmerun", "nornir")]
    saved = [(lg, lg.level) for lg in ours]
    root.addHandler(handler)
    for lg in ours:
        lg.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)


def _run(
    spec: ShardSpec, watch: _StopWatch, send: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, float] | None]:
    """The shard's hosts as plain data, and what its share of the login rate cost."""
    from acmerun.runbook.compiler import compile_runbook
    from acmerun.runbook.loader import load_runbook_text
    from acmerun.session.inventory import init_nornir, login_rate, only_hosts

    runbook = load_runbook_text(spec.runbook_text, spec.runbook_path, spec.extra_vars)
    compiled = compile_runbook(
        runbook,
        extra_vars=dict(spec.extra_vars),
        tags=spec.tags,
        skip_tags=spec.skip_tags,
        stop=watch.token,
    )
    if spec.inventory.plugin == INVENTORY_PLUGIN and not spec.inventory.options.get("url"):
        raise ValueError("a shard needs the inventory service's url (never an embedded lab)")
    runner = spec.runner.nornir_options(compiled.group_of, watch.token, spec.total_hosts)
    logins = login_rate(spec.runner.connect_rate, watch.token)
    nr = init_nornir(
        spec.inventory,
        runner,
        check=spec.check,
        credentials=_credentials(spec),
        secrets=_secrets(spec),
        login_rate=logins,
    )
    nr = only_hosts(nr, spec.hosts)
    stream = _Stream()
    watcher = threading.Thread(
        target=_watch, args=(stream, watch, send), name="acmerun-shard-watch", daemon=True
    )
    watcher.start()
    try:
        result = nr.with_processors([stream]).run(task=compiled.host_task, name=runbook.name)
    finally:
        stream.done.set()
        watcher.join()
    found = sorted(nr.inventory.hosts)
    hosts = _hosts(found, result)
    missing = NotRun(NotRunKind.LOST, detail="not in the inventory as the worker sees it")
    for name in sorted(set(spec.hosts) - set(found)):
        hosts[name] = _plain(HostOutcome.never_run(name, missing))
    return hosts, (logins.waited().to_dict() if logins is not None else None)


#: the key of a host's data saying its device refused the credentials (the driver counts them)
REFUSED = "refused_credentials"


def _hosts(names: Iterable[str], results: Mapping[str, MultiResult]) -> dict[str, dict[str, Any]]:
    """The hosts' outcomes as plain data, each marked when its device refused the credentials."""
    hosts = {name: _plain(o) for name, o in decode(names, results).items()}
    for name, data in hosts.items():
        found = results.get(name)
        if found is not None and refused_credentials(found):
            data[REFUSED] = True
    return hosts


def _plain(outcome: HostOutcome) -> dict[str, Any]:
    """JSON-ready data only (Dask events carry msgpack, results may hold anything)."""
    plain: dict[str, Any] = json.loads(json.dumps(outcome.to_dict(), default=str))
    return plain


class _StopWatch:
    """The driver's stop event as this shard last read it, put on the shard's stop token."""

    def __init__(self, event: Any, variable: Any, token: StopToken) -> None:
        self.event = event
        self.variable = variable
        self.token = token

    def check(self) -> None:
        if self.token.requested:
            return
        try:
            if not self.event.is_set():
                return
            value = self.variable.get(timeout=5)
        except (TimeoutError, OSError):
            value = NotRun.interrupted().to_dict()
        if isinstance(value, dict):
            self.token.request(NotRun.from_dict(value))


class _Stream(Processor):
    """A nornir processor keeping the hosts that finished, for the watcher to send."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._finished: dict[str, MultiResult] = {}

    def take(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            finished, self._finished = self._finished, {}
        return _hosts(finished, finished)

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        with self._lock:
            self._finished[host.name] = result


def _watch(stream: _Stream, watch: _StopWatch, send: Any) -> None:
    while not stream.done.wait(STREAM_SECONDS):
        try:
            watch.check()
            batch = stream.take()
            if batch:
                send({"kind": "hosts", "hosts": batch})
        except Exception:  # the worker is closing: the task's own result still says it all
            logger.debug("shard watcher", exc_info=True)
            return
