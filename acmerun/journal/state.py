"""A journal read back: what its run did, and which run ``acmerun resume`` continues.

A journal is read line by line; a line that is not a whole JSON object (the last
line a ``kill -9`` cut short) is ignored. The events are folded in order, over
every part of the run (the first and each resume): a host is done once a
``host_end`` says so (unless it was interrupted or lost: it runs again), in
flight from its ``host_start`` until a ``host_end`` of a part that ran it; the
run is finished once a ``run_end`` with an exit code other than 99 (interrupted)
closes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acmerun.errors import BadOptions, Refused
from acmerun.journal.log import journal_dir
from acmerun.outcome import HostOutcome, NotRunKind, Status
from acmerun.session.runid import is_run_id

#: a host that ended so is run again on resume: it never got to its steps, or lost them
RUN_AGAIN = frozenset({NotRunKind.INTERRUPTED, NotRunKind.UNFINISHED, NotRunKind.LOST})
#: the exit code of an interrupted run: it may be resumed
INTERRUPTED = 99


@dataclass
class JournalState:
    """One run as its journal tells it."""

    path: Path
    #: the ``run_start`` event (run id, runbook, sha256, options, hosts)
    start: dict[str, Any]
    #: hosts that are done, with their outcomes
    done: dict[str, HostOutcome] = field(default_factory=dict)
    #: hosts started and not done: in flight when the run died
    in_flight: set[str] = field(default_factory=set)
    #: the exit code of the last ``run_end``, None when the run never ended
    exit_code: int | None = None
    #: how many times the run was resumed
    resumes: int = 0

    @property
    def run_id(self) -> str:
        return str(self.start.get("run_id", ""))

    @property
    def runbook(self) -> str:
        return str(self.start.get("runbook", ""))

    @property
    def finished(self) -> bool:
        """True when the run ended (interrupted runs are not finished: they may resume)."""
        return self.exit_code is not None and self.exit_code != INTERRUPTED

    @property
    def hosts(self) -> list[str]:
        return [str(h) for h in self.start.get("hosts", ())]


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every whole event of the journal at ``path``, in order."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadOptions(f"journal {path}: cannot read it: {exc.strerror or exc}") from exc
    events = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # cut short by a crash
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            events.append(event)
    return events


def read_journal(path: Path) -> JournalState:
    """The run the journal at ``path`` tells of; ``BadOptions`` when it has no run start."""
    events = read_events(path)
    if not events or events[0].get("event") != "run_start":
        raise BadOptions(f"journal {path}: not a run journal (no run_start line)")
    state = JournalState(path=path, start=events[0])
    for event in events[1:]:
        kind = event["event"]
        host = event.get("host")
        if kind == "host_start" and isinstance(host, str):
            state.in_flight.add(host)
        elif kind == "host_end" and isinstance(host, str):
            outcome = HostOutcome.from_dict(host, event.get("outcome") or {"status": "failed"})
            if outcome.not_run is not None and outcome.not_run.kind in RUN_AGAIN:
                # not run in this part: a device left in flight by an earlier one still is
                state.done.pop(host, None)
            elif outcome.status is Status.INTERRUPTED:
                # stopped between two steps: run again, its device between changes
                state.done.pop(host, None)
                state.in_flight.discard(host)
            else:
                state.in_flight.discard(host)
                state.done[host] = outcome
        elif kind == "resume":
            state.resumes += 1
            state.exit_code = None
        elif kind == "run_end":
            code = event.get("exit_code")
            state.exit_code = int(code) if isinstance(code, int) else None
    return state


def runbook_digest(path: Path, includes: list[str]) -> str:
    """The sha256 of a runbook and the files it includes (read relative to it), hex."""
    digest = hashlib.sha256()
    digest.update(path.read_bytes())
    for name in sorted(set(includes)):
        digest.update(b"\0" + name.encode("utf-8") + b"\0")
        try:
            digest.update((path.parent / name).read_bytes())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def find_run(run_id: str | None, runbook: Path | None) -> JournalState:
    """The run to resume: ``run_id``'s, else the newest unfinished one (of ``runbook``)."""
    folder = journal_dir()
    if run_id is not None:
        if not is_run_id(run_id):
            raise BadOptions(f"{run_id!r} is not a run id (such as 20261203T132100Z-3f9a1c2b)")
        path = folder / f"{run_id}.jsonl"
        if not path.is_file():
            raise BadOptions(f"no journal of run {run_id} in {folder}")
        state = read_journal(path)
        if runbook is not None and not _same_file(Path(state.runbook), runbook):
            raise Refused(f"run {run_id} is a run of {state.runbook}, not of {runbook}")
        return state
    for path in sorted(folder.glob("*.jsonl"), reverse=True):
        if not is_run_id(path.stem):
            continue
        try:
            state = read_journal(path)
        except BadOptions:
            continue
        if state.finished:
            continue
        if runbook is not None and not _same_file(Path(state.runbook), runbook):
            continue
        return state
    of = f" of {runbook}" if runbook is not None else ""
    raise Refused(f"no unfinished run{of} to resume in {folder}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
