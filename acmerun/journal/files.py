"""The files of a run's events, and the thread that writes them.

``Writer`` takes the events' lines from every thread of the run and appends them in
batches, a few milliseconds apart: one ``write`` a batch to the journal
(``JournalFile``) and one to ``--events`` (``EventsFile``, ``EventsStream``),
instead of one a line, so that 50 hosts ending steps at once cost the kernel a few
system calls, not 50 each. A line that must be in the journal before its caller
goes on (a host's start: before the host touches its device) is written there by
the caller itself (``Writer.direct``), and to ``--events`` with the next batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
import threading
import time
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import IO

from acmerun.errors import BadOptions

logger = logging.getLogger("acmerun")

#: the mode of a journal file
JOURNAL_MODE = 0o600
#: the mode of a new ``--events`` file
EVENTS_MODE = 0o640
#: the journal's lines asked to be on disk are fsync'd together, at most this often (seconds):
#: a power cut loses at most this much of the run's last lines (``kill -9`` loses none)
SYNC_INTERVAL = 0.2
#: the writer appends what was queued at most this often (seconds)
BATCH_INTERVAL = 0.005


class JournalFile:
    """An append-only file, its writes made durable by a thread of its own.

    Lines are appended with one ``write`` each call (``O_APPEND``: two never
    interleave), by the run's ``Writer`` or, for a line that must be in the file
    before the caller goes on, by the caller itself; no lock is held across a system
    call, so no thread queues behind another's.
    """

    def __init__(self, path: Path, *, new: bool) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        if new:
            flags |= os.O_EXCL
        try:
            self.fd = os.open(path, flags, JOURNAL_MODE)
        except OSError as exc:
            raise BadOptions(f"journal {path}: cannot open it: {exc.strerror or exc}") from exc
        if not stat.S_ISREG(os.fstat(self.fd).st_mode):
            os.close(self.fd)
            raise BadOptions(f"journal {path}: not a regular file")
        self.path = path
        # guards the counts only: never held across a system call
        self._cond = threading.Condition()
        self._written = 0  # lines written
        self._asked = 0  # the last line to fsync
        self._synced = 0  # lines on disk
        self._waiting = 0  # callers waiting for their line to be on disk
        self._closed = False
        if not new:
            self._end_torn_line()
        self._thread = threading.Thread(target=self._sync, name="acmerun-journal", daemon=True)
        self._thread.start()

    def _end_torn_line(self) -> None:
        """A line cut short by a crash ends here, so the next one starts on its own line."""
        size = os.fstat(self.fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(size - 1)
            last = f.read(1)
        if last != b"\n":
            os.write(self.fd, b"\n")

    def write(self, data: bytes, sync: bool = False) -> int:
        """Append ``data`` (whole lines); the number to give ``wait_durable``.

        ``sync``: have it fsync'd within ``SYNC_INTERVAL`` (with every line before it);
        other lines are fsync'd with the next one that asks. A line is in the file
        (safe from a ``kill -9``) when this returns.
        """
        if self._closed:  # a thread still running once the run is over: nothing more is kept
            return self._written
        _write_all(self.fd, data)
        with self._cond:
            self._written += 1
            number = self._written
            if sync:
                self._asked = number
        return number

    def wait_durable(self, number: int) -> None:
        """Return once the write ``number`` (and every one before it) is on disk."""
        with self._cond:
            self._waiting += 1
            try:
                while self._synced < number and not self._closed:
                    if self._asked < number:
                        self._asked = number
                    self._cond.notify_all()
                    self._cond.wait()
            finally:
                self._waiting -= 1

    def _sync(self) -> None:
        def due() -> bool:
            return self._closed or (self._waiting > 0 and self._asked > self._synced)

        while True:
            with self._cond:
                # the lines asked for go to disk together, at most SYNC_INTERVAL later
                self._cond.wait_for(due, SYNC_INTERVAL)
                if self._closed:
                    return
                if self._asked <= self._synced:
                    continue
                target = self._written
            # a failed fsync: the run goes on; the lines are written, only not known durable
            with contextlib.suppress(OSError):
                os.fdatasync(self.fd)
            with self._cond:
                self._synced = target
                self._cond.notify_all()

    def close(self) -> None:
        """Every write on disk, then the file closed."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        with contextlib.suppress(OSError):
            os.fsync(self.fd)
        os.close(self.fd)
        with self._cond:
            self._synced = self._written
            self._cond.notify_all()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class EventsFile:
    """``--events FILE``: lines appended by one ``write`` a call, never through a symbolic link.

    Opened for appending (mode 0640 if new, emptied if not): two threads writing at
    once never interleave their lines.
    """

    def __init__(self, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self.fd: int | None = os.open(path, flags, EVENTS_MODE)
        except OSError as exc:
            raise BadOptions(f"--events: cannot write {path}: {exc.strerror or exc}") from exc

    def write_lines(self, data: bytes, flush: bool) -> None:
        """Append whole lines (in the file when this returns: ``flush`` changes nothing)."""
        fd = self.fd
        if fd is not None:
            _write_all(fd, data)

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


class EventsStream:
    """``--events -``: lines to a text stream (standard output), flushed as asked."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def write_lines(self, data: bytes, flush: bool) -> None:
        with self._lock:
            self.stream.write(data.decode("ascii"))
            if flush:
                self.stream.flush()

    def close(self) -> None:
        with self._lock:
            self.stream.flush()


Sink = EventsFile | EventsStream


class _Batch:
    """The lines the writer takes from its queue at once: for the journal, for the stream."""

    __slots__ = ("journal", "stream", "sync")

    def __init__(self) -> None:
        self.journal: list[bytes] = []
        self.stream: list[bytes] = []
        self.sync = False

    def add(self, lines: bytes, sync: bool, journal: bool) -> None:
        if journal:
            self.journal.append(lines)
        self.stream.append(lines)
        self.sync = self.sync or sync


class Writer:
    """Appends the run's lines to the journal and the stream, in the order they were queued.

    ``queue`` is called from any thread and returns at once; the lines reach the files
    within ``BATCH_INTERVAL``, a thread's in the order it queued them. ``direct``
    writes lines to the journal before returning (lines other threads queued may come
    after them there); ``now`` writes to both before returning, after every line
    queued before. A journal that cannot be written any more is left (one warning
    line on stderr and in the log), and so is a stream (a closed pipe); the run goes on.
    """

    def __init__(self, journal: JournalFile | None, stream: Sink | None) -> None:
        self.journal = journal
        self.stream = stream
        # (lines, sync, to the journal too), a caller waiting for what came before, the end
        self._queue: SimpleQueue[tuple[bytes, bool, bool] | threading.Event | None] = SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="acmerun-events", daemon=True)
        self._thread.start()

    def queue(self, line: bytes, sync: bool) -> None:
        """Have ``line`` appended soon (``sync``: fsync'd and flushed within the intervals)."""
        if not self._closed:
            self._queue.put((line, sync, True))

    def direct(self, lines: bytes) -> None:
        """Append ``lines`` to the journal before returning (fsync'd within ``SYNC_INTERVAL``);
        to the stream soon, as ``queue`` does."""
        if self._closed:
            return
        self._append(lines, b"", True)
        if self.stream is not None:
            self._queue.put((lines, True, False))

    def now(self, lines: bytes, sync: bool = True) -> int:
        """Append ``lines`` before returning, after every line queued before them."""
        if self._closed:
            return 0
        done = threading.Event()
        self._queue.put(done)
        done.wait()
        return self._append(lines, lines, sync)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            items = [item]
            with contextlib.suppress(Empty):
                while True:
                    items.append(self._queue.get_nowait())
            stop = False
            batch = _Batch()
            for one in items:
                if one is None:
                    stop = True
                elif isinstance(one, threading.Event):
                    self._write(batch)
                    batch = _Batch()
                    one.set()
                else:
                    batch.add(*one)
            self._write(batch)
            if stop:
                return
            time.sleep(BATCH_INTERVAL)

    def _write(self, batch: _Batch) -> None:
        self._append(b"".join(batch.journal), b"".join(batch.stream), batch.sync)

    def _append(self, to_journal: bytes, to_stream: bytes, sync: bool) -> int:
        """Lines to the journal and to the stream; the journal's number for ``wait_durable``."""
        number = 0
        journal, stream = self.journal, self.stream
        if to_journal and journal is not None:
            try:
                number = journal.write(to_journal, sync=sync)
            except OSError as exc:
                self.journal = None
                line = f"journal {journal.path}: cannot write: {exc.strerror or exc}"
                logger.warning("%s; the run goes on without it", line)
                print(f"acmerun: warning: {line}; the run goes on without it", file=sys.stderr)
        if to_stream and stream is not None:
            try:
                stream.write_lines(to_stream, flush=sync)
            except (OSError, ValueError):
                self.stream = None  # a closed pipe: the run goes on, the journal too
        return number

    def close(self) -> None:
        """Every line queued written, then the files closed (standard output only flushed)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        journal, stream = self.journal, self.stream
        self.journal = self.stream = None
        if journal is not None:
            journal.close()
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()
