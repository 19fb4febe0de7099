"""The local executor: the run's hosts on threads of this process, through the rolling runner.

The task runs in a worker thread while the main thread waits on it in short
slices, so SIGINT and SIGTERM are handled at once (``session.signals``). Live
progress is shown on a terminal unless ``--quiet``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from acmerun.outcome import HostOutcome
from acmerun.plugins.processors import Processor
from acmerun.results import decode
from acmerun.session.record import PreparedRun

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
        nr = run.nornir
        show_progress = options.progress
        if show_progress is None:
            show_progress = not options.quiet and out.isatty()
        recorder, display = _progress(run, out) if show_progress else (None, None)
        collector = _Collector()
        nr = nr.with_processors([collector] if recorder is None else [collector, recorder])
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = nr.run(task=run.compiled.host_task, name=run.runbook.name)
            except BaseException as exc:  # re-raised in the main thread
                box["error"] = exc

        thread = threading.Thread(target=work, name="acmerun-run", daemon=True)
        with display if display is not None else _nothing():
            thread.start()
            while thread.is_alive() and not run.stop.abandoned:
                thread.join(WAIT_SLICE)
        if "error" in box:
            raise box["error"]
        results = box.get("result")
        if results is None:  # abandoned: the hosts that had not finished are reported so
            results = collector.finished()
        return decode(run.selected, results)


def _progress(run: PreparedRun, out: TextIO) -> tuple[Any, Any]:
    from rich.console import Console

    from acmerun.plugins.processors.progress import ProgressRecorder
    from acmerun.report.progress import LiveProgress

    recorder = ProgressRecorder(total=len(run.selected))
    console = Console(file=out, no_color=run.options.no_color)
    runner: Any = run.nornir.runner
    title = run.options.runbook.stem
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
