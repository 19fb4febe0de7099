"""The live progress display of a run, shown on a terminal while hosts are worked on.

    upgrade-earth ━━━━━━━━━━━━━━━━━━━━━╺━━━━━━━━━━━━━━ 53/106 hosts 0:00:12 ETA 0:00:11
    ok=40 changed=10 failed=2 unreachable=1  in flight: 4 hosts, 3 groups

Both lines fit the terminal's width (80 columns included) with the counts and
the ETA whole: the title is shortened, then the bar, and statuses no host has
yet are left out.

It reads a ``ProgressRecorder`` a few times per second from rich's own refresh
thread, so worker threads never wait for the screen. It is transient: it is
gone before the recap prints. The CLI enables it only when stdout is a
terminal and ``--quiet`` is not given; disabled, it does nothing at all.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from types import TracebackType
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from acmerun.outcome import STATUSES, HostOutcome, Status, StepOutcome
from acmerun.plugins.processors.progress import ProgressRecorder, ProgressSnapshot
from acmerun.report.recap import COLUMN_STYLE, STATUS_STYLE, format_duration
from acmerun.report.steps import Leaf, host_failures, host_leaves, leaf_steps, skip_reason
from acmerun.secrets import Redactor, printable

_BAR_WIDTH = 40
_BAR_MIN = 10
#: the width rendered for when there is no console (a terminal's usual)
_WIDTH = 80
#: a result shown by ``-vv`` is cut after this many characters
_VALUE_MAX = 2000


class ReaderConsole(Console):
    """A console whose reader may go away (``| head``): then it prints nothing more."""

    def on_broken_pipe(self) -> None:
        """Not rich's exit: the run goes on, its reports and exit code matter more."""
        self.quiet = True


class LiveProgress:
    """Context manager showing hosts done/total, counts per status, groups in flight and ETA.

    ``groups_in_flight`` (from the rolling runner) is called from the display
    thread; it must be cheap and thread-safe. ``enabled=False`` makes the whole
    thing a no-op.
    """

    def __init__(
        self,
        recorder: ProgressRecorder,
        console: Console | None = None,
        groups_in_flight: Callable[[], int] | None = None,
        *,
        enabled: bool = True,
        title: str = "",
        refresh_per_second: float = 4.0,
        pause_left: Callable[[], float | None] | None = None,
    ) -> None:
        self.recorder = recorder
        #: seconds left of a rollout's pause between batches (None: not pausing)
        self.pause_left = pause_left
        self.console = console
        self.groups_in_flight = groups_in_flight
        self.enabled = enabled
        self.title = title
        self.refresh_per_second = refresh_per_second
        self._live: Live | None = None
        self._started = time.monotonic()

    def __enter__(self) -> LiveProgress:
        self._started = time.monotonic()
        if self.enabled:
            self._live = Live(
                console=self.console,
                get_renderable=self.render,
                refresh_per_second=self.refresh_per_second,
                transient=True,
            )
            self._live.start(refresh=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def notices(self, notices: Iterable[tuple[TextIO, str]]) -> None:
        """Print each (stream, line) on its own line: above the display when it is shown."""
        for err, line in notices:
            live = self._live
            with suppress(OSError, ValueError):
                if live is not None and err.isatty():
                    live.console.print(Text(line), soft_wrap=True, highlight=False)
                else:
                    print(line, file=err, flush=True)

    def render(self) -> RenderableType:
        """What the display shows now: two lines, each within the console's width."""
        snap = self.recorder.snapshot()
        elapsed = time.monotonic() - self._started
        width = self.console.width if self.console is not None else _WIDTH
        timing = f"{snap.done}/{snap.total} hosts {_clock(elapsed)}"
        eta = _eta(snap, elapsed)
        timing += f" ETA {_clock(eta)}" if eta is not None else " ETA -:--:--"
        # the counts and the ETA are kept whole; the title, then the bar, give way first
        room = width - 1 - len(timing) - 1
        title = printable(self.title)
        bar_width = max(0, min(_BAR_WIDTH, room - (len(title) + 1 if title else 0)))
        if bar_width < _BAR_MIN:
            bar_width = min(_BAR_MIN, room) if room >= _BAR_MIN else 0
        title_room = room - bar_width - (1 if bar_width else 0)
        head = Table.grid(padding=(0, 1))
        cells: list[RenderableType] = []
        if title and title_room >= 4:
            shown = title if len(title) <= title_room else title[: title_room - 1] + "…"
            head.add_column(no_wrap=True)
            cells.append(Text(shown, style="bold"))
        if bar_width:
            head.add_column(no_wrap=True, width=bar_width)
            bar = ProgressBar(total=max(snap.total, 1), completed=snap.done, width=bar_width)
            cells.append(bar)
        head.add_column(no_wrap=True)
        cells.append(Text(timing))
        head.add_row(*cells)

        counts = Text(no_wrap=True, overflow="ellipsis")
        for status in STATUSES:
            n = snap.counts.get(status, 0)
            if n or status is Status.OK:
                if counts:
                    counts.append(" ")
                counts.append(f"{status.value}={n}", style=STATUS_STYLE[status] if n else "")
        flight = f"  in flight: {snap.in_flight} hosts"
        groups = self._groups()
        if groups is not None:
            flight += f", {groups} groups"
        left = self._pause_left()
        if left is not None:
            flight = f"  pause {_clock(left)} before the next batch"
        counts.append(flight)
        counts.truncate(width - 1, overflow="ellipsis")
        return Group(head, counts)

    def _pause_left(self) -> float | None:
        if self.pause_left is None:
            return None
        try:
            return self.pause_left()
        except Exception:
            return None

    def _groups(self) -> int | None:
        if self.groups_in_flight is None:
            return None
        try:
            return int(self.groups_in_flight())
        except Exception:
            return None


def _eta(snap: ProgressSnapshot, elapsed: float) -> float | None:
    remaining = snap.total - snap.done
    if snap.done <= 0 or remaining <= 0 or elapsed <= 0:
        return None
    return remaining * elapsed / snap.done


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class HostLines:
    """Prints a run's news above the live display: failures as hosts are done, steps with -v.

    ``verbosity`` 0 prints each host's failures once the host is done; 1 (``-v``)
    prints a line for every innermost step (status, path, duration) as the step
    ends (``step``), failures included, and 2 (``-vv``) adds each step's result
    (what ``register`` keeps). A host's steps not printed by then (a cluster's
    hosts, whose steps the driver never sees end) are printed when it is done.
    Lines go through ``console``: above a live display when one is shown, as
    plain lines otherwise. Every text is masked, then shown with its control
    characters escaped and any rich markup as plain text. Called from worker
    threads: each call's lines are one write of rich's console, never torn.
    """

    def __init__(
        self,
        console: Console,
        *,
        verbosity: int = 0,
        secrets: Iterable[str | None] = (),
        color: bool = True,
    ) -> None:
        self.console = console
        self.verbosity = verbosity
        self.redactor = Redactor(secrets)
        self.color = color
        self._lock = threading.Lock()
        # host -> the steps printed already (kept, so that no id is reused meanwhile)
        self._shown: dict[str, dict[int, StepOutcome]] = {}

    def __call__(self, host: HostOutcome) -> None:
        """Print the lines of one host that is done (with -v: its steps not printed yet)."""
        with self._lock:
            shown = self._shown.pop(host.name, {})
        self._print(self.lines(host, shown))

    def step(self, host: str, prefix: str, step: StepOutcome) -> None:
        """With -v: print the innermost steps of ``step``, which just ended on ``host``."""
        if not self.verbosity:
            return
        with self._lock:
            shown = self._shown.setdefault(host, {})
            leaves = [leaf for leaf in leaf_steps([step], prefix) if id(leaf.step) not in shown]
            shown.update((id(leaf.step), leaf.step) for leaf in leaves)
        name = printable(host)
        self._print([line for leaf in leaves for line in self._leaf(name, leaf)])

    def lines(
        self, host: HostOutcome, shown: Mapping[int, StepOutcome] | None = None
    ) -> list[Text]:
        """The lines ``host`` prints at this verbosity (with -v: but for the steps ``shown``)."""
        name = printable(host.name)
        found: list[Text] = []
        if self.verbosity:
            for leaf in host_leaves(host):
                if shown is None or id(leaf.step) not in shown:
                    found.extend(self._leaf(name, leaf, host))
            if not host.steps and host.error:
                found.extend(self._line(host.status.value, name, "", host.error))
            return found
        for path, status, error in host_failures(host):
            found.extend(self._line(status.value, name, path, error))
        return found

    def _print(self, lines: list[Text]) -> None:
        if lines:
            with suppress(OSError, ValueError):
                self.console.print(Text("\n").join(lines), soft_wrap=True, highlight=False)

    def _leaf(self, name: str, leaf: Leaf, host: HostOutcome | None = None) -> list[Text]:
        detail = leaf.step.error or ""
        if leaf.step.status in (Status.SKIPPED, Status.INTERRUPTED):
            detail = skip_reason(leaf.step, host)
        elif leaf.step.task == "log" and isinstance(leaf.step.result, str):
            detail = detail or leaf.step.result  # a log step's message, at -v
        found = self._line(leaf.kind, name, leaf.path, detail, duration=leaf.step.duration)
        if self.verbosity > 1 and leaf.step.result is not None:
            found.append(self._styled(f"    result: {self._value(leaf.step.result)}"))
        return found

    def _line(
        self, kind: str, name: str, path: str, detail: str, duration: float | None = None
    ) -> list[Text]:
        where = f"{kind}: {name}" + (f" | {printable(path)}" if path else "")
        if duration is not None:
            where += f" ({format_duration(duration)})"
        first, *rest = self.redactor.text(detail).splitlines() or [""]
        line = self._styled(where, COLUMN_STYLE.get(kind, ""))
        if first:
            line.append(f" | {printable(first)}")
        return [line, *(self._styled(f"    {printable(more)}") for more in rest)]

    def _value(self, value: object) -> str:
        try:
            text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
        text = printable(self.redactor.text(text))
        return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 3] + "..."

    def _styled(self, text: str, style: str = "") -> Text:
        return Text(text, style=style if self.color else "", no_wrap=True)
