"""``StateWriter``: a running lab's changes, written to its state file from its event loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from typing import Any

from acmerun.lab.errors import LabStateError
from acmerun.lab.record import MAX_INSTALLS
from acmerun.lab.state import Change, StateFile

logger = logging.getLogger("acmerun.lab")


class StateWriter:
    """Writes a running lab's changes to its state file; used from the lab's event loop.

    ``changed()`` records a change and writes it ``interval`` seconds later, in
    a worker thread so that the loop keeps serving (changes made meanwhile go
    with it, or with the next write). ``close()`` waits for a running write and
    writes every change once more. The first failure is kept in ``error``;
    one while serving is also logged, since nobody waits for it then.
    """

    def __init__(self, file: StateFile, interval: float) -> None:
        self.file = file
        self.error: LabStateError | None = None
        self._interval = interval
        #: every device the lab changed since it started: what it writes back
        self._changes: dict[str, Change] = {}
        #: every install the lab made since it started, oldest first
        self._installs: deque[dict[str, Any]] = deque(maxlen=MAX_INSTALLS)
        self._dirty = False
        self._pending = False
        self._closed = False
        self._write: asyncio.Future[dict[str, str]] | None = None

    def changed(
        self,
        name: str,
        version: str,
        previous: str | None = None,
        faulted: bool = False,
        install: dict[str, Any] | None = None,
    ) -> None:
        """Device ``name`` runs ``version`` from now on: write it a moment from now.

        ``install`` is the record of the install that changed it, or of one that failed.
        """
        if version != previous:
            self._changes[name] = Change(version, time.time(), previous, faulted)
        if install is not None:
            self._installs.append(install)
        self._dirty = True
        self._schedule()

    async def close(self) -> None:
        """Write every change now (the lab stops): the failure, if any, is in ``error``."""
        self._closed = True
        if self._write is not None:
            with contextlib.suppress(Exception):  # its failure was kept by _written
                await self._write
        try:
            self.file.update(dict(self._changes), installs=list(self._installs))
        except LabStateError as exc:
            if self.error is None:
                self.error = exc

    def _schedule(self) -> None:
        if not self._pending and not self._closed:
            self._pending = True
            asyncio.get_running_loop().call_later(self._interval, self._start_write)

    def _start_write(self) -> None:
        if self._write is not None or self._closed:
            # a write is running: its completion schedules the next one
            return
        self._dirty = False
        self._write = asyncio.get_running_loop().run_in_executor(
            None,
            functools.partial(self.file.update, dict(self._changes), installs=list(self._installs)),
        )
        self._write.add_done_callback(self._written)

    def _written(self, write: asyncio.Future[dict[str, str]]) -> None:
        self._write = None
        self._pending = False
        exc = write.exception() if not write.cancelled() else None
        if exc is not None and self.error is None:
            self.error = (
                exc
                if isinstance(exc, LabStateError)
                else LabStateError(f"cannot write lab state file {self.file.path}: {exc!r}")
            )
            logger.error("%s", self.error)
        if self._dirty:
            self._schedule()
