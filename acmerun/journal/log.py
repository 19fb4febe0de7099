"""``EventLog``: the run's events, one JSON object a line, to the journal and ``--events``.

Every event is masked (``acmerun.secrets``) before it is written. The journal is
appended to with one ``write`` a line or a batch of whole lines: a ``kill -9``
loses at most the lines being written, and the lines queued for the next batch (a
few milliseconds' worth: ``acmerun.journal.files``). A host's start is written by
the host's own thread, before the host touches its device, so a host a crash cut
short is always seen in flight; the run's start is on disk (fsync'd) before any
host starts; each host's start and end is fsync'd within ``SYNC_INTERVAL``, many
hosts with one fsync, so a busy run pays a few fsyncs a second and no host waits
for one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii as _string
from pathlib import Path
from typing import Any

from acmerun.errors import BadOptions
from acmerun.journal import EVENTS_VERSION
from acmerun.journal.files import EventsFile, EventsStream, JournalFile, Writer
from acmerun.outcome import HostOutcome
from acmerun.paths import state_dir
from acmerun.secrets import Secrets

#: the mode of the folder holding the journals
JOURNAL_DIR_MODE = 0o700
#: ``--events -``: the events go to standard output
STDOUT = Path("-")

#: a line's JSON: ASCII, compact (one encoder for every line: ``json.dumps`` makes one a call)
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


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
    moment = time.time()
    second = int(moment)
    head = _SECONDS.get(second)
    if head is None:  # a new second: its text made once, for every line of that second
        head = datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _SECONDS.clear()
        _SECONDS[second] = head
    return f"{head}.{int((moment - second) * 1000):03d}+00:00"


_SECONDS: dict[int, str] = {}


class EventLog:
    """Writes the run's events to the journal (if any) and the ``--events`` stream (if any).

    Thread-safe: nornir's worker threads call the ``host_``/``step_`` methods.
    """

    def __init__(
        self,
        run_id: str,
        secrets: Secrets,
        journal: JournalFile | None = None,
        stream: EventsFile | EventsStream | None = None,
    ) -> None:
        self.run_id = run_id
        self.journal = journal
        self._writer = Writer(journal, stream)
        self._redactor = secrets.redactor()

    def emit(
        self,
        event: str,
        *,
        durable: bool = False,
        sync: bool = True,
        first: bool = False,
        **fields: Any,
    ) -> None:
        """One event, masked.

        ``sync``: fsync'd in the journal by the journal's thread (within
        ``SYNC_INTERVAL``, with every line before it) and flushed in the stream; other
        lines go with the next one that is. ``first``: in the journal when this
        returns (a host's first line; in the stream soon after). ``durable``: on disk
        when this returns, after every line emitted before it.
        """
        encoded = self._line(event, fields)
        if durable:
            number = self._writer.now(encoded)
            if self.journal is not None:
                self.journal.wait_durable(number)
        elif first:
            self._writer.direct(encoded)
        else:
            self._writer.queue(encoded, sync)

    def _masks(self, line: str) -> bool:
        """True if ``line`` holds a secret in any of its forms (escaped, whitespace
        collapsed) or a URL's password."""
        return bool(self._redactor.secrets or "://" in line) and self._redactor.text(line) != line

    def _queued(self, line: str) -> bool:
        """Queue a step's line made from a template (the text ``_line`` makes of the same
        fields); False, nothing queued, if it holds something to mask."""
        if self._masks(line):
            return False
        self._writer.queue((line + "\n").encode("ascii"), False)
        return True

    @staticmethod
    def _step_head(event: str, host: str, path: str, task: str) -> str:
        """A step line's fields up to ``task``, as ``_line`` writes them."""
        return (
            f'{{"v":{EVENTS_VERSION},"event":"{event}","at":"{now()}",'
            f'"host":{_string(host)},"step":{_string(path)},"task":{_string(task)}'
        )

    def _line(self, event: str, fields: dict[str, Any]) -> bytes:
        data: dict[str, Any] = {"v": EVENTS_VERSION, "event": event, "at": now()}
        data.update(fields)
        line = _encode(data)
        if self._masks(line):
            line = _encode(self._redactor.data(data))
        return (line + "\n").encode("ascii")

    # the events of hosts and steps, from nornir's worker threads

    def host_started(self, host: str) -> None:
        """A host starts its steps: in the journal before it touches its device (fsync'd
        within ``SYNC_INTERVAL``, with others)."""
        self.emit("host_start", first=True, host=host)

    def hosts_started(self, hosts: Iterable[str]) -> None:
        """Hosts start at once (a cluster's shard): in the journal before they start."""
        lines = b"".join(self._line("host_start", {"host": name}) for name in hosts)
        if lines:
            self._writer.direct(lines)

    def step_started(self, host: str, path: str, task: str) -> None:
        """A step (or one attempt of it) starts on a host."""
        if not self._queued(self._step_head("step_start", host, path, task) + "}"):
            self.emit("step_start", sync=False, host=host, step=path, task=task)

    def step_ended(
        self, host: str, path: str, task: str, status: str, changed: bool, error: str | None
    ) -> None:
        """A step's task call ended on a host."""
        line = (
            self._step_head("step_end", host, path, task)
            + f',"status":{_string(status)},"changed":{"true" if changed else "false"},'
            + f'"error":{"null" if error is None else _string(error)}}}'
        )
        if self._queued(line):
            return
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
        """Everything written and on disk; the files closed (standard output only flushed)."""
        self._writer.close()
        self.journal = None
