"""The live progress display of a run, shown on a terminal while hosts are worked on.

    upgrade-earth ━━━━━━━━━━━━━━━━━━━━━━━━╺━━━━━━━━━━━━━━━━  53/106 hosts  0:00:12  ETA 0:00:11
    ok=40 changed=10 failed=2 unreachable=1 skipped=0 interrupted=0  in flight: 4 hosts, 3 groups

It reads a ``ProgressRecorder`` a few times per second from rich's own refresh
thread, so worker threads never wait for the screen. It is transient: it is
gone before the recap prints. The CLI enables it only when stdout is a
terminal and ``--quiet`` is not given; disabled, it does nothing at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from acmerun.outcome import STATUSES
from acmerun.plugins.processors.progress import ProgressRecorder, ProgressSnapshot
from acmerun.report.recap import STATUS_STYLE
from acmerun.secrets import printable

_BAR_WIDTH = 40


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
    ) -> None:
        self.recorder = recorder
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
            self._live.start()
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

    def render(self) -> RenderableType:
        """What the display shows now."""
        snap = self.recorder.snapshot()
        elapsed = time.monotonic() - self._started
        head = Table.grid(padding=(0, 1))
        cells: list[RenderableType] = []
        if self.title:
            head.add_column(no_wrap=True, overflow="ellipsis", max_width=40)
            cells.append(Text(printable(self.title), style="bold"))
        head.add_column(no_wrap=True)
        head.add_column(no_wrap=True)
        cells.append(ProgressBar(total=max(snap.total, 1), completed=snap.done, width=_BAR_WIDTH))
        timing = f"{snap.done}/{snap.total} hosts  {_clock(elapsed)}"
        eta = _eta(snap, elapsed)
        if eta is not None:
            timing += f"  ETA {_clock(eta)}"
        cells.append(Text(timing))
        head.add_row(*cells)

        counts = Text(no_wrap=True, overflow="ellipsis")
        for status in STATUSES:
            n = snap.counts.get(status, 0)
            if counts:
                counts.append(" ")
            counts.append(f"{status.value}={n}", style=STATUS_STYLE[status] if n else "")
        flight = f"  in flight: {snap.in_flight} hosts"
        groups = self._groups()
        if groups is not None:
            flight += f", {groups} groups"
        counts.append(flight)
        return Group(head, counts)

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
