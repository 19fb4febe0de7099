"""A resumed run's failure limits count the whole run: the hosts failed before the crash too."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.test_journal_resume import events_of, journals
from tests.support import processes

RUNBOOK = """\
name: audit with a failure limit
inventory:
  plugin: ACMEInventory
strategy:
  workers: 1
  max_fail_percentage: 25
steps:
  - name: running version
    task: acmeos.get_version
    timeout: 5
"""


def cut_after_host_end(journal: Path, host: str) -> None:
    """The journal as a crash after ``host`` ended, before the next host started, leaves it.

    A host's start is written by its own thread, the other lines a few milliseconds
    later by the run's writer: the next host's start may be in the file before the end
    of the host before it, and is left out here with the rest.
    """
    lines = journal.read_text().splitlines(keepends=True)
    events = [json.loads(line) for line in lines]
    last = next(n for n, e in enumerate(events) if e["event"] == "host_end" and e["host"] == host)
    ended = {e["host"] for e in events[: last + 1] if e["event"] == "host_end"}
    kept = [
        line
        for line, e in zip(lines[: last + 1], events[: last + 1], strict=True)
        if e["event"] != "host_start" or e["host"] in ended
    ]
    journal.write_text("".join(kept))


def first_run(tmp_path: Path) -> tuple[processes.LabProcess, dict[str, str], Path, list[str]]:
    """A lab of 10 devices, the first 3 to run dead, and a finished run of ``RUNBOOK`` over it.

    The hosts run one at a time, edges first, then spines: the third dead one crosses
    the limit (3 of 10 is over 25 %, 2 is not) and no host starts after it. Returns the
    lab, the run's environment, its journal, and the hosts it started, in order.
    """
    dead = ("--dead", "edge0*.earth", "--dead", "spine00.earth")
    lab = processes.start_lab(*dead, cwd=tmp_path)
    env = processes.environment(lab.url)
    runbook = tmp_path / "audit.yml"
    runbook.write_text(RUNBOOK)
    first = processes.run_acmerun(str(runbook), "-q", env=env, cwd=tmp_path)
    assert first.returncode == 3, first.stderr
    [journal] = journals()
    started = [e["host"] for e in events_of(journal) if e["event"] == "host_start"]
    return lab, env, journal, started


def resume(journal: Path, env: dict[str, str], tmp_path: Path) -> dict[str, dict[str, object]]:
    resumed = processes.run_acmerun(
        "resume", journal.stem, "--report", "r.json", "-q", env=env, cwd=tmp_path
    )
    assert resumed.returncode == 3, resumed.stderr
    hosts: dict[str, dict[str, object]] = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert len(hosts) == 10
    return hosts


def test_max_fail_percentage_after_a_resume_counts_the_failures_before_the_crash(
    tmp_path: Path,
) -> None:
    lab, env, journal, started = first_run(tmp_path)
    try:
        dead = ["edge00.earth", "edge01.earth", "spine00.earth"]
        assert started == dead
        # the run died once the second dead host ended: 2 of 10 failed, under the limit
        cut_after_host_end(journal, dead[1])
        hosts = resume(journal, env, tmp_path)
        status = {name: h["status"] for name, h in hosts.items()}
        assert [status[h] for h in dead] == ["unreachable"] * 3
        # the third dead host, the run's third failure, crossed the limit: 7 never started,
        # not 1 failure of the 8 the resumed run had left
        never = sorted(set(hosts) - set(dead))
        assert len(never) == 7
        assert {status[h] for h in never} == {"skipped"}
        assert {hosts[h]["error"] for h in never} == {
            "not started: max_fail_percentage 25% exceeded (3 of 10 hosts failed)"
        }
    finally:
        processes.stop([lab])


def test_a_resume_after_the_limit_was_crossed_starts_no_host(tmp_path: Path) -> None:
    lab, env, journal, started = first_run(tmp_path)
    try:
        # the run died just after its third failure ended: over the limit already
        cut_after_host_end(journal, "spine00.earth")
        hosts = resume(journal, env, tmp_path)
        never = sorted(set(hosts) - set(started))
        assert len(never) == 7
        assert {hosts[h]["status"] for h in never} == {"skipped"}
        assert {hosts[h]["error"] for h in never} == {
            "not started: max_fail_percentage 25% exceeded (3 of 10 hosts failed)"
        }
        events = events_of(journal)
        resumed_at = next(n for n, e in enumerate(events) if e["event"] == "resume")
        assert [e for e in events[resumed_at:] if e["event"] == "host_start"] == []
    finally:
        processes.stop([lab])
