"""The local executor: the run's hosts on threads of this process, through the rolling runner.

The task runs in a worker thread while the main thread waits on it in short
slices, so SIGINT and SIGTERM are handled at once (``session.signals``). Live
progress is shown on a terminal unless ``--quiet``; each host's failures are
printed as the host is done, above it, and with ``-v`` every step as it ends.
``live_lines`` is that terminal for a cluster run's driver, told of each host
as its shard's result comes back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from acmerun.outcome import HostOutcome
from acmerun.plugins.processors import Processor
from acmerun.plugins.runners.rolling import RollingRunner
from acmerun.results import decode
from acmerun.session.record import PreparedRun
from acmerun.session.signals import held_notices

if TYPE_CHECKING:
    from nornir.core.inventory import Host
    from nornir.core.task import MultiResult, Task

    from acmerun.plugins.processors.progress import ProgressRecorder
    from acmerun.report.progress import HostLines, LiveProgress

#: how long the main thread waits on the run in one slice (signals are handled between)
WAIT_SLICE = 0.2


class LocalExecutor:
    """Runs the hosts on this machine's threads (``workers`` in flight)."""

    def execute(self, run: PreparedRun, out: TextIO) -> dict[str, HostOutcome]:
        """Run every selected host; an outcome for each, whatever happened to it."""
        collector = _Collector()
        box: dict[str, Any] = {}
        with live_lines(run, out, groups=True) as terminal:
            processors: list[Any] = [collector, terminal.recorder]
            if run.events is not None:
                from acmerun.plugins.processors.events import EventRecorder, RunEvents

                events: RunEvents = run.events  # type: ignore[assignment]  # the run's EventLog
                processors.append(EventRecorder(events))
            nr = run.nornir.with_processors(processors)
            if run.run_size and isinstance(nr.runner, RollingRunner):
                nr.runner.part_of(run.run_size, run.failed_before)

            def work() -> None:
                try:
                    box["result"] = nr.run(task=run.compiled.host_task, name=run.runbook.name)
                except BaseException as exc:  # re-raised in the main thread
                    box["error"] = exc

            thread = threading.Thread(target=work, name="acmerun-run", daemon=True)
            thread.start()
            while thread.is_alive() and not run.stop.abandoned:
                thread.join(WAIT_SLICE)
                terminal.poll()
        if "error" in box:
            raise box["error"]
        results = box.get("result")
        if results is None:  # abandoned: the hosts that had not finished are reported so
            results = collector.finished()
        return decode(run.selected, results)


class RunLines:
    """The terminal of a run while it goes: the live progress, host and step lines, notices.

    Its ``recorder`` is the nornir processor of a local run; a cluster's driver
    calls ``started``, ``host_done`` and ``say`` as its shards' news comes back
    instead. ``poll`` (between waits of the main thread) prints the signal
    notices held meanwhile.
    """

    def __init__(
        self,
        recorder: ProgressRecorder,
        display: LiveProgress,
        take: Callable[[], list[tuple[TextIO, str]]],
        out: TextIO,
    ) -> None:
        self.recorder = recorder
        self.display = display
        self._take = take
        self._out = out

    def started(self, hosts: Iterable[str]) -> None:
        """``hosts`` are in flight (a shard started on a worker)."""
        for name in hosts:
            self.recorder.host_started(name)

    def host_done(self, host: HostOutcome) -> None:
        """``host`` is done: counted, and its lines printed (failures; its steps with -v)."""
        self.recorder.host_done(host.name, host.status)
        if self.recorder.on_host_done is not None:
            self.recorder.on_host_done(host)

    def say(self, line: str) -> None:
        """Print ``line`` (already masked and printable) on its own line, above the display."""
        self.display.notices([(self._out, line)])

    def poll(self) -> None:
        """Print the notices held since the last call (a signal's), above the display."""
        self.display.notices(self._take())


@contextmanager
def live_lines(run: PreparedRun, out: TextIO, *, groups: bool = False) -> Iterator[RunLines]:
    """The run's terminal from start to end (``groups``: show the rolling runner's groups)."""
    options = run.options
    show_progress = options.progress
    if show_progress is None:
        show_progress = not options.quiet and out.isatty()
    recorder, display = _progress(run, out, show_progress, groups=groups)
    with held_notices() if show_progress else _nothing() as take, display:
        terminal = RunLines(recorder, display, take, out)
        try:
            yield terminal
        finally:
            terminal.poll()


def _progress(
    run: PreparedRun, out: TextIO, live: bool, *, groups: bool
) -> tuple[ProgressRecorder, LiveProgress]:
    """The recorder (its listeners print each host's failures, and steps with -v) and display."""
    from acmerun.plugins.processors.progress import ProgressRecorder
    from acmerun.report.progress import HostLines, LiveProgress, ReaderConsole

    options = run.options
    console = ReaderConsole(file=out, no_color=options.no_color, highlight=False)
    lines: HostLines | None = None
    if options.verbosity or not options.quiet:
        lines = HostLines(
            console, verbosity=options.verbosity, secrets=run.secrets, color=not options.no_color
        )
    recorder = ProgressRecorder(
        total=len(run.selected),
        on_host_done=lines,
        on_step=lines.step if lines is not None and options.verbosity else None,
    )
    runner: Any = run.nornir.runner
    in_flight = runner.groups_in_flight if groups else None
    title = options.runbook.stem
    display = LiveProgress(
        recorder,
        console,
        in_flight,
        title=title,
        enabled=live,
        pause_left=getattr(runner, "pause_left", None),
    )
    return recorder, display


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
def _nothing() -> Iterator[Callable[[], list[tuple[TextIO, str]]]]:
    yield list  # no notice is held: each was printed as it came
