"""What a cluster run's driver tells its terminal as shards start and hosts come back.

The session gives the driver its live lines (``session.local.live_lines``): the
progress count, each host's lines as its result arrives. Without them the
driver prints its own lines only (``plain_lines``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TextIO

from acmerun.outcome import HostOutcome
from acmerun.session.record import PreparedRun


class Terminal(Protocol):
    """What the driver tells as the run goes, from its main thread (``session.local.RunLines``)."""

    def started(self, hosts: Iterable[str]) -> None:
        """A shard of these hosts started on a worker."""

    def host_done(self, host: HostOutcome) -> None:
        """A host's result reached the driver (the first one of it)."""

    def say(self, line: str) -> None:
        """A line of the driver's own (masked and printable already)."""

    def poll(self) -> None:
        """Called between two waits for the cluster's events."""


#: makes the run's ``Terminal`` for as long as the run goes
Terminals = Callable[[PreparedRun, TextIO], AbstractContextManager[Terminal]]


class _PlainLines:
    """The ``Terminal`` of a driver given none: its own lines only, printed as they come."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def started(self, hosts: Iterable[str]) -> None:
        pass

    def host_done(self, host: HostOutcome) -> None:
        pass

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def poll(self) -> None:
        pass


@contextmanager
def plain_lines(run: PreparedRun, out: TextIO) -> Iterator[Terminal]:
    """The ``Terminal`` of a driver given none: its own lines, printed as they come."""
    yield _PlainLines(out)
