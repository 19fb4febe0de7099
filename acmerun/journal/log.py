"""``EventLog``: the run's events, one JSON object a line, to the journal and ``--events``.

Every event is masked (``acmerun.secrets``) before it is written. The journal is
appended to with one ``write`` a line, at once: a ``kill -9`` loses at most the
line being written. A thread of its own makes it durable: the run's start is on
disk before any host starts; each host's start and end is fsync'd within
``SYNC_INTERVAL``, many hosts with one fsync, so a busy run pays a few fsyncs a
second and no host waits for one.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from acmerun.errors import BadOptions
from acmerun.journal import EVENTS_VERSION
from acmerun.outcome import HostOutcome
from acmerun.paths import state_dir
from acmerun.secrets import Secrets

#: the mode of a journal file and of the folder holding them
JOURNAL_MODE = 0o600
JOURNAL_DIR_MODE = 0o700
#: the mode of a new ``--events`` file
EVENTS_MODE = 0o640
#: the journal's lines asked to be on disk are fsync'd together, at most this often (seconds)
SYNC_INTERVAL = 0.05
#: ``--events -``: the events go to standard output
STDOUT = Path("-")


def journal_dir() -> Path:
    """``STATE_DIR/journal``, created (mode 0700) on first use."""
    folder = state_dir() / "journal"
    try:
        folder.mkdir(mode=JOURNAL_DIR_MODE, exist_ok=True)
    except OSError as exc:
        raise BadOptions(
            f"journal folder {folder}: cannot create it: {exc.strerror or exc}"
        ) from exc
    if folder.is_symlink() or not folder.is_dir():
        raise BadOptions(f"journal folder {folder}: not a directory")
    return folder


def journal_path(run_id: str) -> Path:
    """The journal of the run ``run_id``."""
    return journal_dir() / f"{run_id}.jsonl"


def now() -> str:
    """This moment, as the events say it (UTC, ISO 8601, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class JournalFile:
    """An append-only file, its writes made durable by a thread of its own."""

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

        ``sync``: have it fsync'd now (with every line before it); other lines are
        fsync'd with the next one that asks. Callers write one at a time (a lock).
        """
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self._written += 1
        if sync:
            with self._cond:
                self._asked = self._written
                self._cond.notify_all()
        return self._written

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
        while True:
            with self._cond:
                while self._synced >= self._asked and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                target = self._written
            # a failed fsync: the run goes on; the lines are written, only not known durable
            with contextlib.suppress(OSError):
                os.fdatasync(self.fd)
            with self._cond:
                self._synced = target
                self._cond.notify_all()
                # the lines asked for meanwhile go to disk together, SYNC_INTERVAL later
                self._cond.wait_for(lambda: self._closed or self._waiting, SYNC_INTERVAL)

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


def open_events_file(path: Path) -> IO[str]:
    """``--events FILE`` opened for writing: never through a symbolic link, mode 0640 if new."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, EVENTS_MODE)
    except OSError as exc:
        raise BadOptions(f"--events: cannot write {path}: {exc.strerror or exc}") from exc
    return os.fdopen(fd, "w", encoding="utf-8")


class EventLog:
    """Writes the run's events to the journal (if any) and the ``--events`` stream (if any).

    Thread-safe: nornir's worker threads call the ``host_``/``step_`` methods.
    """

    def __init__(
        self,
        run_id: str,
        secrets: Secrets,
        journal: JournalFile | None = None,
        stream: IO[str] | None = None,
        close_stream: bool = False,
    ) -> None:
        self.run_id = run_id
        self.journal = journal
        self.stream = stream
        self._close_stream = close_stream
        self._redactor = secrets.redactor()
        self._lock = threading.Lock()

    def emit(self, event: str, *, durable: bool = False, sync: bool = True, **fields: Any) -> None:
        """One event, masked.

        ``sync``: fsync'd in the journal by the journal's thread (within
        ``SYNC_INTERVAL``, with every line before it) and flushed in the stream; other
        lines go with the next one that is. ``durable``: return once it is on disk.
        """
        data: dict[str, Any] = {"v": EVENTS_VERSION, "event": event, "at": now()}
        data.update(fields)
        line = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
        # a secret in any of its forms (escaped, whitespace collapsed), or a URL's password
        if (self._redactor.secrets or "://" in line) and self._redactor.text(line) != line:
            line = json.dumps(self._redactor.data(data), ensure_ascii=True, separators=(",", ":"))
        line += "\n"
        number = 0
        with self._lock:
            if self.journal is not None:
                number = self.journal.write(line.encode("ascii"), sync=sync or durable)
            if self.stream is not None:
                try:
                    self.stream.write(line)
                    if sync or durable:
                        self.stream.flush()
                except (OSError, ValueError):
                    self.stream = None  # a closed pipe: the run goes on, the journal too
        if durable and self.journal is not None:
            self.journal.wait_durable(number)

    # the events of hosts and steps, from nornir's worker threads

    def host_started(self, host: str) -> None:
        """A host starts its steps (fsync'd within ``SYNC_INTERVAL``, with others)."""
        self.emit("host_start", host=host)

    def hosts_started(self, hosts: Iterable[str]) -> None:
        """Hosts start at once (a cluster's shard)."""
        for name in hosts:
            self.emit("host_start", host=name)

    def step_started(self, host: str, path: str, task: str) -> None:
        """A step (or one attempt of it) starts on a host."""
        self.emit("step_start", sync=False, host=host, step=path, task=task)

    def step_ended(
        self, host: str, path: str, task: str, status: str, changed: bool, error: str | None
    ) -> None:
        """A step's task call ended on a host."""
        self.emit(
            "step_end",
            sync=False,
            host=host,
            step=path,
            task=task,
            status=status,
            changed=changed,
            error=error,
        )

    def host_ended(self, outcome: HostOutcome) -> None:
        """A host is done (or was never run): its whole outcome."""
        self.emit(
            "host_end",
            host=outcome.name,
            status=outcome.status.value,
            outcome=outcome.to_dict(),
        )

    def close(self) -> None:
        """Everything written and on disk; the files closed."""
        with self._lock:
            if self.journal is not None:
                self.journal.close()
                self.journal = None
            if self.stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    self.stream.flush()
                    if self._close_stream:
                        self.stream.close()
            self.stream = None
