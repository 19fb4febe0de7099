"""A journal read back: torn lines ignored, hosts done, hosts in flight, across resumes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acmerun.journal.state import read_journal
from acmerun.outcome import HostOutcome, NotRun, Status


def line(event: str, **fields: Any) -> bytes:
    return json.dumps({"v": 1, "event": event, "at": "2026-12-03T00:00:00.000+00:00", **fields})\
        .encode() + b"\n"  # fmt: skip


def host_end(outcome: HostOutcome) -> bytes:
    return line(
        "host_end", host=outcome.name, status=outcome.status.value, outcome=outcome.to_dict()
    )


def test_hosts_done_and_in_flight_across_a_crash_and_a_resume(tmp_path: Path) -> None:
    journal = tmp_path / "20261203T000000Z-00000000.jsonl"
    parts = [
        line("run_start", run_id="20261203T000000Z-00000000", hosts=["a", "b", "c", "d"]),
        line("host_start", host="a"),
        host_end(HostOutcome("a", Status.CHANGED)),
        line("host_start", host="b"),
        line("host_start", host="c"),
        b'{"v":1,"event":"host_end","host":"c","sta',  # the kill -9 cut it short
        b"\n",
        line("resume", run_id="20261203T000000Z-00000000"),
        # b waited for, then the resumed run stopped (a signal) before it ran it again
        host_end(HostOutcome.never_run("b", NotRun.interrupted())),
        line("host_start", host="c"),
        host_end(HostOutcome("c", Status.INTERRUPTED)),  # stopped between two steps
        line("host_start", host="d"),
        host_end(HostOutcome("d", Status.FAILED, error="boom")),
        line("run_end", exit_code=99, totals={}, interrupted=True),
    ]
    journal.write_bytes(b"".join(parts))
    state = read_journal(journal)
    assert state.run_id == "20261203T000000Z-00000000"
    assert set(state.done) == {"a", "d"}
    assert state.done["d"].error == "boom"
    assert state.in_flight == {"b"}  # still possibly rebooting: waited for again
    assert state.resumes == 1
    assert (state.exit_code, state.finished) == (99, False)  # interrupted: it may resume
    journal.write_bytes(journal.read_bytes() + line("resume") + line("run_end", exit_code=0))
    assert read_journal(journal).finished
