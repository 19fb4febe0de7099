"""SIGINT and SIGTERM during a run: the first stops starting hosts, the second stops waiting.

The handlers only act on the run's stop token (safe from a signal handler); the
run's main thread waits in short slices and reads it. Before the run's hosts are in
an executor's hands (the token is not ``armed``), a signal interrupts the
preparation as Ctrl-C does (``KeyboardInterrupt``: exit 99). While a live progress
display is shown, the notices are held and printed by it, each on its own line.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any, TextIO

from acmerun.stop import StopToken


@contextmanager
def stop_on_signals(err: TextIO, stop: StopToken) -> Iterator[StopToken]:
    """SIGINT/SIGTERM stop the run gracefully (first) or stop waiting for it (second)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not stop.armed:
            stop.interrupt()
            before = previous.get(signal.Signals(signum))
            if callable(before):
                before(signum, frame)  # the CLI's: it remembers the signal, and raises
            raise KeyboardInterrupt
        if not stop.interrupted:
            stop.interrupt()
            say(
                err,
                f"acmerun: {name}: stopping: no new host starts; hosts in flight finish their"
                " step (send it again to stop waiting for them)",
            )
        else:
            stop.abandon()
            say(
                err,
                f"acmerun: {name}: not waiting for hosts in flight; they are reported interrupted",
            )

    previous: dict[signal.Signals, Any] = {}
    previous.update({sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)})
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: notices held while a live display owns the terminal (None: printed at once)
_held: list[tuple[TextIO, str]] | None = None


def say(err: TextIO, line: str) -> None:
    """Print ``line`` on ``err`` now (or hold it for the live display); never an error."""
    held = _held
    if held is not None:
        held.append((err, line))  # a signal handler must not wait for the display's lock
        return
    with suppress(OSError, ValueError, RuntimeError):
        print(line, file=err, flush=True)


@contextmanager
def held_notices() -> Iterator[Callable[[], list[tuple[TextIO, str]]]]:
    """Hold the notices while a live display is shown; yields ``take``: (stream, line) pairs.

    The display prints what ``take`` returns on a line of its own, above itself
    (printed straight away, a notice would be glued to the display's line and
    cut at the screen's edge). Notices not taken are printed when this ends.
    """
    global _held
    held: list[tuple[TextIO, str]] = []
    _held = held

    def take() -> list[tuple[TextIO, str]]:
        taken = held[:]
        del held[: len(taken)]
        return taken

    try:
        yield take
    finally:
        _held = None
        for err, line in take():
            say(err, line)
