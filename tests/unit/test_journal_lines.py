"""The event log's lines: what a reader of the journal and ``--events`` gets, from many threads."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from acmerun.journal.files import EventsFile, JournalFile
from acmerun.journal.log import EventLog
from acmerun.secrets import MASK, Secrets

SECRET = "s3cr3t-Pa55"

#: names a reader must get back as they were: quotes, backslashes, non-ASCII, control characters
NAMES = ['leaf"01', "leaf\\02", "lëaf03", "leaf\t04", "leaf\x1b[2J05", "leaf☃06"]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


def secrets(*values: str) -> Secrets:
    found = Secrets()
    for value in values:
        found.add(value)
    return found


@pytest.fixture
def log(tmp_path: Path) -> EventLog:
    journal = JournalFile(tmp_path / "run.jsonl", new=True)
    return EventLog("run-1", secrets(SECRET), journal, EventsFile(tmp_path / "events.jsonl"))


def test_step_lines_hold_every_field_as_given_in_ascii_json(log: EventLog, tmp_path: Path) -> None:
    for name in NAMES:
        log.host_started(name)
        log.step_started(name, "checks > version", "get_version")
        log.step_ended(name, "checks > version", "get_version", "ok", False, None)
        log.step_ended(name, "install", "upgrade_os", "failed", True, f"no {name} é")
    log.close()
    journal, events = lines(tmp_path / "run.jsonl"), lines(tmp_path / "events.jsonl")
    assert sorted(map(json.dumps, journal)) == sorted(map(json.dumps, events))
    steps = [e for e in journal if e["event"] == "step_start"]
    assert [e["host"] for e in steps] == NAMES
    assert {(e["v"], e["step"], e["task"]) for e in steps} == {
        (1, "checks > version", "get_version")
    }
    ends = [e for e in journal if e["event"] == "step_end"]
    assert [(e["host"], e["status"], e["changed"], e["error"]) for e in ends[:2]] == [
        (NAMES[0], "ok", False, None),
        (NAMES[0], "failed", True, f"no {NAMES[0]} é"),
    ]
    for event in journal:
        assert datetime.fromisoformat(event["at"]).utcoffset() is not None


def test_a_secret_in_a_step_line_is_masked_in_every_form(log: EventLog, tmp_path: Path) -> None:
    log.step_started("leaf01", f"login as {SECRET}", "get_version")
    log.step_ended("leaf01", "login", "get_version", "failed", False, f"refused: {SECRET!r}")
    log.step_ended("leaf01", "fetch", "get_file", "failed", False, f"https://u:{SECRET}@h/x")
    log.close()
    for path in (tmp_path / "run.jsonl", tmp_path / "events.jsonl"):
        text = path.read_text()
        assert SECRET not in text
        start, refused, url = lines(path)
        assert start["step"] == f"login as {MASK}"
        assert refused["error"] == f"refused: '{MASK}'"
        assert url["error"] == f"https://u:{MASK}@h/x"


def test_lines_from_50_threads_are_whole_and_each_hosts_in_order(tmp_path: Path) -> None:
    journal = JournalFile(tmp_path / "run.jsonl", new=True)
    log = EventLog("run-1", secrets(SECRET), journal, EventsFile(tmp_path / "events.jsonl"))
    ready = threading.Barrier(50)

    def host(n: int) -> None:
        ready.wait()
        for k in range(20):
            name = f"leaf{n:02d}-{k}"
            log.host_started(name)
            for step in range(3):
                log.step_started(name, f"step {step}", "get_version")
                log.step_ended(name, f"step {step}", "get_version", "ok", False, None)

    threads = [threading.Thread(target=host, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    for path in (tmp_path / "run.jsonl", tmp_path / "events.jsonl"):
        found: dict[str, list[str]] = defaultdict(list)
        for event in lines(path):  # every line parses: none torn, none interleaved
            found[event["host"]].append(event["event"] + event.get("step", ""))
        assert len(found) == 1000
        expected = ["host_start"] + [
            f"step_{e}step {n}" for n in range(3) for e in ("start", "end")
        ]
        assert {tuple(v) for v in found.values()} == {tuple(expected)}


def test_a_journal_that_cannot_be_written_is_one_warning_and_the_events_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = JournalFile(tmp_path / "run.jsonl", new=True)
    log = EventLog("run-1", secrets(), journal, EventsFile(tmp_path / "events.jsonl"))
    log.host_started("leaf01")
    full = OSError(28, "No space left on device")

    def no_space(data: bytes, sync: bool = False) -> int:
        raise full

    journal.write = no_space  # type: ignore[method-assign]
    log.host_started("leaf02")
    log.step_started("leaf02", "version", "get_version")
    log.close()
    err = capsys.readouterr().err
    assert err == (
        f"acmerun: warning: journal {tmp_path / 'run.jsonl'}: cannot write: "
        "No space left on device; the run goes on without it\n"
    )
    assert [e["host"] for e in lines(tmp_path / "run.jsonl")] == ["leaf01"]
    events = lines(tmp_path / "events.jsonl")
    assert [(e["event"], e["host"]) for e in events] == [
        ("host_start", "leaf01"), ("host_start", "leaf02"), ("step_start", "leaf02"),
    ]  # fmt: skip
