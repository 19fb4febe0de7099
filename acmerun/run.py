"""One run of a runbook: inventory, rolling runner, signals, lock, reports and exit code.

``execute(RunOptions(runbook=...))`` is what ``acmerun RUNBOOK`` does, callable from
Python too; it returns the exit code and the ``RunOutcome``. Expected problems are
raised as ``acmerun.errors`` exceptions for the caller (the CLI) to report.

The task runs in a worker thread while the main thread waits on it in short
slices, so SIGINT and SIGTERM are handled at once: the first one stops the
runner (no new host starts; hosts in flight finish their step), the reports are
written with the hosts that never started marked ``interrupted``, and the exit
code is 99. A second signal stops waiting for the hosts in flight.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from acmerun import DEFAULT_WORKERS
from acmerun.acmeos.defaults import INVENTORY_URL_ENV, PASSWORD_ENV, USERNAME_ENV
from acmerun.config import Config, known_secrets, register_secret
from acmerun.errors import BadOptions, ExitCode
from acmerun.lock import RunbookLock
from acmerun.logs import run_logging
from acmerun.plugins.processors import Processor
from acmerun.signals import StopRequest, say, stop_on_signals

if TYPE_CHECKING:
    from nornir.core import Nornir
    from nornir.core.inventory import Host
    from nornir.core.task import AggregatedResult, MultiResult, Task

    from acmerun.outcome import RunOutcome
    from acmerun.runbook.compiler import CompiledRunbook
    from acmerun.runbook.model import Runbook

logger = logging.getLogger("acmerun")

#: how long the main thread waits on the run in one slice (signals are handled between)
_WAIT_SLICE = 0.2

_ACME_INVENTORY = "ACMEInventory"


@dataclass(frozen=True)
class RunOptions:
    """Everything that shapes one run; the CLI's options, one for one."""

    runbook: Path
    check: bool = False
    detailed_exitcode: bool = False
    limit: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    workers: int | None = None
    list_hosts: bool = False
    list_steps: bool = False
    report: Path | None = None
    report_dir: Path | None = None
    junit: Path | None = None
    quiet: bool = False
    no_color: bool = False
    log_file: Path | None = None
    config: Config = field(default_factory=Config)
    wait_lock: float = 0.0
    #: show live progress; None: when stdout is a terminal and not --quiet
    progress: bool | None = None
    #: run on this Dask cluster (``local:N`` or a scheduler address); see acmerun.distributed
    cluster: str | None = None
    #: the host-data key that splits the hosts into shards on a cluster
    shard_by: str = "site"


@dataclass
class RunResult:
    """How a run ended: its exit code and, when hosts were run, its outcome."""

    exit_code: int
    outcome: RunOutcome | None = None
    #: True when a second signal stopped the wait: hosts may still be in flight in this process
    abandoned: bool = False


def execute(options: RunOptions, out: TextIO | None = None, err: TextIO | None = None) -> RunResult:
    """Run the runbook as ``options`` say and report it; the exit code follows DESIGN.md."""
    from acmerun.runbook.loader import load_runbook

    out = out or sys.stdout
    err = err or sys.stderr
    if options.detailed_exitcode and not options.check:
        raise BadOptions("--detailed-exitcode only has a meaning with --check")
    with run_logging(options.log_file), stop_on_signals(err) as stop:
        runbook = load_runbook(str(options.runbook))
        from acmerun.runbook.compiler import compile_runbook

        compiled = compile_runbook(
            runbook,
            extra_vars=dict(options.extra_vars),
            tags=options.tags,
            skip_tags=options.skip_tags,
        )
        if options.list_steps:
            for line in compiled.step_lines():
                print(line, file=out)
            return RunResult(int(ExitCode.OK))
        if options.list_hosts:
            try:
                _, selected = _nornir(runbook, compiled, options, stop)
            finally:
                _stop_embedded_lab()
            for name in selected:
                print(name, file=out)
            return RunResult(int(ExitCode.OK))
        _check_report_paths(options)
        with RunbookLock(options.runbook, wait=options.wait_lock):
            return _run(runbook, compiled, options, stop, out)


def _check_report_paths(options: RunOptions) -> None:
    """Report folders exist and are writable before any device is touched (exit 5 if not)."""
    folders: list[tuple[str, Path]] = []
    if options.report is not None:
        folders.append(("--report", options.report.parent))
    if options.junit is not None:
        folders.append(("--junit", options.junit.parent))
    report_dir = options.report_dir or options.config.report_dir
    if report_dir is not None:
        folders.append(("--report-dir", report_dir))
    for option, folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadOptions(f"{option}: cannot create {folder}: {exc.strerror or exc}") from exc
        if not os.access(folder, os.W_OK | os.X_OK):
            raise BadOptions(f"{option}: cannot write in {folder}")


def _run(
    runbook: Runbook,
    compiled: CompiledRunbook,
    options: RunOptions,
    stop: StopRequest,
    out: TextIO,
) -> RunResult:
    from acmerun.outcome import RunOutcome

    target = describe_target(runbook, options.config)
    if not options.quiet:
        print(target, file=out, flush=True)
    logger.info("run of %s started; %s", options.runbook, target)
    started = datetime.now(timezone.utc)
    try:
        nr, selected = _nornir(runbook, compiled, options, stop)
        if options.cluster is not None:
            from acmerun.distributed.driver import run_on_cluster

            hosts = run_on_cluster(nr, selected, runbook, compiled, options, stop, out)
        else:
            aggregated = _run_in_thread(nr, compiled, runbook, options, stop, out)
            hosts = compiled.outcomes(selected, aggregated)
    finally:
        _stop_embedded_lab()
    outcome = RunOutcome(
        runbook=str(options.runbook),
        name=runbook.name,
        check=options.check,
        started=started,
        ended=datetime.now(timezone.utc),
        hosts=hosts,
        target=target,
        interrupted=stop.requested,
    )
    code = exit_code(outcome, detailed=options.detailed_exitcode)
    for name in sorted(hosts):
        host = hosts[name]
        logger.info("host %s: %s%s", name, host.status, f": {host.error}" if host.error else "")
    logger.info("run of %s ended: %s, exit code %d", options.runbook, outcome.totals(), code)
    _report(outcome, code, options, target, out)
    return RunResult(code, outcome, abandoned=stop.abandon)


def _stop_embedded_lab() -> None:
    """Stop the embedded lab if this run started it: it lives for the length of a run."""
    embedded = sys.modules.get("acmerun.plugins.inventory.embedded")
    if embedded is None:
        return
    try:
        embedded.stop_embedded_lab()
    except BadOptions as exc:
        # the run itself is over: its reports and exit code matter more than the lab's state
        logger.warning("embedded lab: %s", exc)
        say(sys.stderr, f"acmerun: warning: embedded lab: {exc}")


def exit_code(outcome: RunOutcome, *, detailed: bool = False) -> int:
    """99 interrupted; else 2 a host failed; 3 unreachable; 6 changes pending; 0.

    Hosts skipped because their group was halted count with the host that halted
    it: 3 when that was an unreachable one and none failed, 2 otherwise.
    """
    from acmerun.outcome import Status

    statuses = {h.status for h in outcome.hosts.values()}
    if outcome.interrupted or Status.INTERRUPTED in statuses:
        return int(ExitCode.INTERRUPTED)
    if Status.FAILED in statuses:
        return int(ExitCode.HOST_FAILED)
    if Status.UNREACHABLE in statuses:
        return int(ExitCode.HOST_UNREACHABLE)
    if Status.SKIPPED in statuses:
        return int(ExitCode.HOST_FAILED)
    if detailed and outcome.check and any(h.changed for h in outcome.hosts.values()):
        return int(ExitCode.CHANGES_PENDING)
    return int(ExitCode.OK)


def describe_target(runbook: Runbook, config: Config) -> str:
    """The first line of a run: the inventory, and plainly so when it is the simulated lab."""
    plugin = runbook.inventory.plugin
    if plugin != _ACME_INVENTORY:
        return f"target: inventory plugin {plugin}"
    url = _inventory_url(runbook, config)
    from acmerun.plugins.inventory.acme import uses_embedded_lab

    if uses_embedded_lab(url):
        return (
            f"target: embedded AcmeOS lab (simulated devices on loopback; state in {_lab_state()})"
        )
    return f"target: inventory {url or os.environ.get(INVENTORY_URL_ENV, '')}"


def _lab_state() -> str:
    from acmerun import paths
    from acmerun.plugins.inventory.embedded import STATE_FILE

    path = str(paths.state_dir() / STATE_FILE)
    home = str(Path.home())
    return "~" + path[len(home) :] if path.startswith(home + os.sep) else path


def _inventory_url(runbook: Runbook, config: Config) -> str | None:
    """The inventory service: the runbook's ``url``, else ``$ACME_INVENTORY_URL``, else config."""
    given = runbook.inventory.options.get("url")
    if given:
        return str(given)
    return os.environ.get(INVENTORY_URL_ENV) or config.inventory_url


def _nornir(
    runbook: Runbook, compiled: CompiledRunbook, options: RunOptions, stop: StopRequest
) -> tuple[Nornir, list[str]]:
    """Nornir over the runbook's hosts (filter and --limit applied), and their names.

    From the moment the runner exists, a signal stops it rather than raising.
    """
    from nornir import InitNornir

    from acmerun.limit import select

    _register_plugins()
    inventory_options = dict(runbook.inventory.options)
    if runbook.inventory.plugin == _ACME_INVENTORY:
        url = _inventory_url(runbook, options.config)
        if url:
            inventory_options["url"] = url
    nr = InitNornir(
        inventory={"plugin": runbook.inventory.plugin, "options": inventory_options},
        runner={"plugin": "RollingRunner", "options": _runner_options(runbook, compiled, options)},
        logging={"enabled": False},
        dry_run=options.check,
    )
    stop.runner = nr.runner
    stop.compiled = compiled
    _credentials(nr, options.config)
    host_filter = compiled.inventory_filter()
    if host_filter is not None:
        nr = nr.filter(host_filter)
    if options.limit is not None:
        groups = {name: _groups_of(host) for name, host in nr.inventory.hosts.items()}
        chosen = set(select(options.limit, groups))
        nr = nr.filter(filter_func=lambda host: host.name in chosen)
    if not nr.inventory.hosts:
        raise BadOptions(_nothing_selected(runbook, options))
    return nr, sorted(nr.inventory.hosts)


def _nothing_selected(runbook: Runbook, options: RunOptions) -> str:
    """Why a run has no host: a typo in a site name must not pass for a clean run."""
    spec = runbook.inventory
    shown = ", ".join(f"{k}={v!r}" for k, v in spec.options.items() if k != "url")
    parts = [f"the inventory ({spec.plugin}{': ' + shown if shown else ''})"]
    if spec.filter:
        parts.append("the runbook's filter")
    if options.limit is not None:
        parts.append(f"--limit {options.limit!r}")
    return f"no host selected by {' and '.join(parts)}: check the names (site, device type, host)"


def _groups_of(host: Any) -> set[str]:
    names = {group.name for group in host.groups}
    site = host.data.get("site") if isinstance(host.data, dict) else None
    if site:
        names.add(str(site))
    return names


def workers_for(runbook: Runbook, options: RunOptions) -> int:
    """Hosts in flight: ``--workers``, else the runbook's, else the config file's, else 50."""
    return options.workers or runbook.strategy.workers or options.config.workers or DEFAULT_WORKERS


def _runner_options(
    runbook: Runbook, compiled: CompiledRunbook, options: RunOptions
) -> dict[str, Any]:
    strategy = runbook.strategy
    workers = workers_for(runbook, options)
    runner: dict[str, Any] = {
        "num_workers": workers,
        "max_fail_percentage": strategy.max_fail_percentage,
        "serial": strategy.serial,
    }
    if strategy.rolling is not None:
        runner["group_by"] = compiled.group_of
        runner["max_down"] = strategy.rolling.max_down
        runner["on_failure"] = strategy.rolling.on_failure
    return runner


def _credentials(nr: Nornir, config: Config) -> None:
    """Config-file credentials as inventory defaults (the environment wins); secrets noted."""
    defaults = nr.inventory.defaults
    if config.username and not os.environ.get(USERNAME_ENV) and not defaults.username:
        defaults.username = config.username
    if config.password and not os.environ.get(PASSWORD_ENV) and not defaults.password:
        defaults.password = config.password
    register_secret(defaults.password)
    for item in (*nr.inventory.groups.values(), *nr.inventory.hosts.values()):
        register_secret(item.password)


def _register_plugins() -> None:
    """The plugins of this package, registered even when its entry points are not installed."""
    from nornir.core.plugins.connections import ConnectionPluginRegister
    from nornir.core.plugins.inventory import InventoryPluginRegister
    from nornir.core.plugins.runners import RunnersPluginRegister

    from acmerun.plugins.connections.acmeos import AcmeOS
    from acmerun.plugins.inventory.acme import ACMEInventory
    from acmerun.plugins.runners.rolling import RollingRunner

    ConnectionPluginRegister.register("acmeos", AcmeOS)
    InventoryPluginRegister.register(_ACME_INVENTORY, ACMEInventory)
    RunnersPluginRegister.register("RollingRunner", RollingRunner)


def _run_in_thread(
    nr: Nornir,
    compiled: CompiledRunbook,
    runbook: Runbook,
    options: RunOptions,
    stop: StopRequest,
    out: TextIO,
) -> AggregatedResult:
    from nornir.core.task import AggregatedResult

    show_progress = options.progress
    if show_progress is None:
        show_progress = not options.quiet and out.isatty()
    recorder, display = _progress(nr, options, out) if show_progress else (None, None)
    collector = _Collector()
    nr = nr.with_processors([collector] if recorder is None else [collector, recorder])
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = nr.run(task=compiled.host_task, name=runbook.name)
        except BaseException as exc:  # re-raised in the main thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="acmerun-run", daemon=True)
    with display if display is not None else _nothing():
        thread.start()
        while thread.is_alive() and not stop.abandon:
            thread.join(_WAIT_SLICE)
    if "error" in box:
        raise box["error"]
    result = box.get("result")
    if result is None:  # abandoned: the hosts that had not finished are reported interrupted
        result = AggregatedResult(runbook.name)
        result.update(collector.finished())
    assert isinstance(result, AggregatedResult)
    return result


def _progress(nr: Nornir, options: RunOptions, out: TextIO) -> tuple[Any, Any]:
    from rich.console import Console

    from acmerun.plugins.processors.progress import ProgressRecorder
    from acmerun.report.progress import LiveProgress

    recorder = ProgressRecorder(total=len(nr.inventory.hosts))
    console = Console(file=out, no_color=options.no_color)
    runner: Any = nr.runner
    title = options.runbook.stem
    return recorder, LiveProgress(recorder, console, runner.groups_in_flight, title=title)


class _Collector(Processor):
    """A nornir processor keeping each host's result as it finishes (for an abandoned run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[str, MultiResult] = {}

    def finished(self) -> dict[str, MultiResult]:
        with self._lock:
            return dict(self._done)

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        with self._lock:
            self._done[host.name] = result


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _report(outcome: RunOutcome, code: int, options: RunOptions, target: str, out: TextIO) -> None:
    from acmerun.report.json import JsonReport

    secrets = known_secrets()
    reporters: list[Any] = []
    report_dir = options.report_dir or options.config.report_dir
    if options.report is not None:
        reporters.append(JsonReport(options.report, exit_code=code, secrets=secrets))
    if report_dir is not None:
        reporters.append(JsonReport(directory=report_dir, exit_code=code, secrets=secrets))
    if options.junit is not None:
        from acmerun.report.junit import JunitReport

        reporters.append(JunitReport(options.junit, secrets=secrets))
    failures: list[str] = []
    for reporter in reporters:
        try:
            reporter.write(outcome)
        except OSError as exc:
            failures.append(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")
    clean = code in (ExitCode.OK, ExitCode.CHANGES_PENDING)
    if not (options.quiet and clean):
        # the files first: a reader that stops early (``| head``) must not cost the reports
        _recap(outcome, options, target, out, secrets)
    if failures:
        raise BadOptions("cannot write the report: " + "; ".join(failures))


def _recap(
    outcome: RunOutcome, options: RunOptions, target: str, out: TextIO, secrets: Iterable[str]
) -> None:
    """The terminal recap; a closed stdout (the reader went away) ends it quietly."""
    from rich.console import Console

    from acmerun.report.recap import Recap

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True

    console = _Console(file=out, no_color=options.no_color, highlight=False)
    recap = Recap(
        console,
        no_color=options.no_color,
        hosts="problems" if options.quiet else "all",
        secrets=secrets,
    )
    try:
        if options.quiet:
            print(target, file=out)
        recap.write(outcome)
    except BrokenPipeError:
        pass
