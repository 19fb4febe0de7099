"""SIGINT and SIGTERM during a run: the first stops starting hosts, the second stops waiting.

The handlers only set flags and call the runner's ``stop()`` (safe from a signal
handler); the run's main thread waits in short slices and reads the flags.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from acmerun.runbook.compiler import CompiledRunbook


class StopRequest:
    """What the signal handlers asked for: stop starting hosts, then stop waiting."""

    def __init__(self) -> None:
        self.requested = False
        self.abandon = False
        self.runner: Any = None
        self.compiled: CompiledRunbook | None = None


@contextmanager
def stop_on_signals(err: TextIO) -> Iterator[StopRequest]:
    """SIGINT/SIGTERM stop the run gracefully (first) or stop waiting for it (second)."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.runner is None:
            stop.requested = True
            raise KeyboardInterrupt
        if not stop.requested:
            stop.requested = True
            stop.runner.stop()
            if stop.compiled is not None:
                stop.compiled.interrupt()
            say(
                err,
                f"acmerun: {name}: stopping: no new host starts; hosts in flight finish their"
                " step (send it again to stop waiting for them)",
            )
        else:
            stop.abandon = True
            say(
                err,
                f"acmerun: {name}: not waiting for hosts in flight; they are reported interrupted",
            )

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def say(err: TextIO, line: str) -> None:
    """Print ``line`` on ``err`` now; a closed or broken stream is not an error."""
    with suppress(OSError, ValueError, RuntimeError):
        print(line, file=err, flush=True)
