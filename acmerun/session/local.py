"""The local executor: the run's hosts on threads of this process, through the rolling runner.

The task runs in a worker thread while the main thread waits on it in short
slices, so SIGINT and SIGTERM are handled at once (``session.signals``). Live
progress is shown on a terminal unless ``--quiet``; each host's failures (every
step with ``-v``) are printed as the host is done, above it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from acmerun.outcome import HostOutcome
from acmerun.plugins.processors import Processor
from acmerun.results import decode
from acmerun.session.record import PreparedRun
from acmerun.session.signals import held_notices

if TYPE_CHECKING:
    from nornir.core.inventory import Host
    from nornir.core.task import MultiResult, Task

#: how long the main thread waits on the run in one slice (signals are handled between)
WAIT_SLICE = 0.2


class LocalExecutor:
    """Runs the hosts on this machine's threads (``workers`` in flight)."""

    def execute(self, run: PreparedRun, out: TextIO) -> dict[str, HostOutcome]:
        """Run every selected host; an outcome for each, whatever happened to it."""
        options = run.options
        show_progress = options.progress
        if show_progress is None:
            show_progress = not options.quiet and out.isatty()
        recorder, display = _progress(run, out, show_progress)
        collector = _Collector()
        nr = run.nornir.with_processors([collector, recorder])
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = nr.run(task=run.compiled.host_task, name=run.runbook.name)
            except BaseException as exc:  # re-raised in the main thread
                box["error"] = exc

        thread = threading.Thread(target=work, name="acmerun-run", daemon=True)
        with held_notices() if show_progress else _nothing() as take, display:
            thread.start()
            while thread.is_alive() and not run.stop.abandoned:
                thread.join(WAIT_SLICE)
                display.notices(take())
            display.notices(take())
        if "error" in box:
            raise box["error"]
        results = box.get("result")
        if results is None:  # abandoned: the hosts that had not finished are reported so
            results = collector.finished()
        return decode(run.selected, results)


def _progress(run: PreparedRun, out: TextIO, live: bool) -> tuple[Any, Any]:
    """The recorder (its listener prints each host's failures, or steps with -v) and display."""
    from acmerun.plugins.processors.progress import ProgressRecorder
    from acmerun.report.progress import HostLines, LiveProgress, ReaderConsole

    options = run.options
    console = ReaderConsole(file=out, no_color=options.no_color, highlight=False)
    lines = None
    if options.verbosity or not options.quiet:
        lines = HostLines(
            console, verbosity=options.verbosity, secrets=run.secrets, color=not options.no_color
        )
    recorder = ProgressRecorder(total=len(run.selected), on_host_done=lines)
    runner: Any = run.nornir.runner
    title = options.runbook.stem
    display = LiveProgress(
        recorder,
        console,
        runner.groups_in_flight,
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
