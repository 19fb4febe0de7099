"""The run's event log: its journal (every run that may change devices) and ``--events``.

``run_events`` opens both before the first host starts and closes them once the
run is reported: a new run creates ``STATE_DIR/journal/RUN_ID.jsonl`` (mode 0600)
and says ``run_start``; a resumed run (``RunOptions.resume``) reads its journal
again under the runbook's lock, is refused if it may not go on, keeps the run's id
and appends to the same journal, saying ``resume``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from acmerun.journal.files import EventsFile, EventsStream, JournalFile
from acmerun.journal.log import STDOUT, EventLog, journal_path
from acmerun.journal.resume import check_resumable, run_fields
from acmerun.journal.state import JournalState, read_journal
from acmerun.session.record import PreparedRun


@contextmanager
def run_events(run: PreparedRun) -> Iterator[tuple[PreparedRun, JournalState | None]]:
    """The run with its event log (and, resumed, the journal's state), for the run's length."""
    options = run.options
    state: JournalState | None = None
    if options.resume is not None:
        state = read_journal(journal_path(options.resume))
        check_resumable(state, run)
        run = replace(run, run_id=state.run_id)
    if options.check and options.events is None:
        yield run, state
        return
    stream: EventsFile | EventsStream | None = None
    if options.events == STDOUT:
        stream = EventsStream(sys.stdout)
    elif options.events is not None:
        stream = EventsFile(options.events)
    journal = None
    try:
        if not options.check:
            journal = JournalFile(journal_path(run.run_id), new=state is None)
    except BaseException:
        if stream is not None:
            stream.close()
        raise
    log = EventLog(run.run_id, run.secrets, journal, stream)
    try:
        fields = run_fields(run)
        if state is None:
            log.emit("run_start", durable=True, **fields)
        else:
            log.emit(
                "resume",
                durable=True,
                **fields,
                done=sorted(state.done),
                in_flight=sorted(state.in_flight - set(state.done)),
            )
        yield replace(run, events=log), state
    finally:
        log.close()
