"""The run history from real ``acmerun`` processes: recorded, listed, shown, rerun, never fatal.

Every run here goes against a lab process of earth (10 devices) where edge00 is
dead (unreachable) and a step's assert fails on leaf01 (failed): the runs exit 2.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acmerun.history.store import MIGRATIONS, SCHEMA_VERSION
from tests.support import processes
from tests.support.credentials import LAB_PASSWORD
from tests.support.gate import Gate

HOSTS = 10
FAILED = {"edge00.earth", "leaf01.earth"}

RUNBOOK = """\
name: audit with a failing host
inventory: {plugin: ACMEInventory, options: {filter_sites: [earth]}}
steps:
  - name: running version
    task: acmeos.get_version
  - name: not leaf01
    task: acmeos.get_version
    assert: ["inventory_hostname != 'leaf01.earth' or note == 'x'"]
"""

CLEAN = """\
name: clean audit
inventory: {plugin: ACMEInventory, options: {filter_sites: [earth]}}
steps:
  - name: running version
    task: acmeos.get_version
"""


@pytest.fixture
def lab_url(tmp_path: Path) -> Iterator[str]:
    lab = processes.start_lab("--dead", "edge00.*", cwd=tmp_path, leaves=4)
    yield lab.url
    processes.stop([lab])


def acmerun(*args: str, cwd: Path, lab_url: str | None = None, **env: str) -> Any:
    return processes.run_acmerun(*args, env=processes.environment(lab_url, **env), cwd=cwd)


def runbook(tmp_path: Path, name: str = "audit.yml", text: str = RUNBOOK) -> str:
    (tmp_path / name).write_text(text)
    return name


def run(tmp_path: Path, lab_url: str, *args: str, name: str = "audit.yml", **env: str) -> Any:
    """A run of ``name`` (written if missing) with the password in an extra var."""
    if not (tmp_path / name).exists():
        runbook(tmp_path, name)
    done = acmerun(name, "-e", f"note={LAB_PASSWORD}", *args, cwd=tmp_path, lab_url=lab_url, **env)
    assert "Traceback" not in done.stderr
    return done


def history_file() -> Path:
    import os

    return Path(os.environ["ACMERUN_STATE_DIR"]) / "history.sqlite"


def hosts_of(report: Path) -> set[str]:
    return set(json.loads(report.read_text())["hosts"])


def test_history_and_show_give_back_the_runs_made(
    tmp_path: Path, lab_url: str, secret_scan: Any
) -> None:
    first = run(tmp_path, lab_url, "--report", "first.json")
    second = run(tmp_path, lab_url, "--limit", "leaf*", "--check", "--report", "second.json")
    assert (first.returncode, second.returncode) == (2, 2), first.stdout + first.stderr
    assert first.stderr == second.stderr == ""
    ids = [json.loads((tmp_path / f).read_text())["run_id"] for f in ("first.json", "second.json")]

    listed = acmerun("history", cwd=tmp_path)
    assert listed.returncode == 0 and listed.stderr == ""
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ids[::-1]  # newest first
    assert "audit.yml  exit 2  10 hosts: 8 ok, 1 failed, 1 unreachable" in lines[1]
    assert lines[0].endswith("4 hosts: 3 ok, 1 failed  check")

    shown = json.loads(acmerun("history", "audit.yml", "--json", cwd=tmp_path).stdout)
    assert [r["run_id"] for r in shown] == ids[::-1]
    assert shown[0]["options"]["limit"] == "leaf*" and shown[0]["check"] is True
    assert shown[1]["options"]["extra_vars"] == {"note": "********"}
    assert shown[1]["totals"] == {
        "ok": 8, "changed": 0, "failed": 1, "unreachable": 1, "skipped": 0, "interrupted": 0
    }  # fmt: skip
    assert len(shown[1]["runbook"]["sha256"]) == 64
    only = acmerun("history", "-n", "1", "--failed", "--since", "24h", cwd=tmp_path)
    assert only.stdout.split()[0] == ids[1]
    later = acmerun("history", "--since", "2099-01-01", cwd=tmp_path)
    assert later.returncode == 0 and "no run since 2099-01-01 recorded in" in later.stdout

    recap = acmerun("show", ids[0], cwd=tmp_path)
    assert recap.returncode == 0, recap.stderr
    assert recap.stdout.startswith(f"run {ids[0]} of audit.yml, started ")
    assert "edge00.earth | running version | problem communicating with device" in recap.stdout
    assert "hosts: 10 ok=8 changed=0 failed=1 unreachable=1" in recap.stdout
    as_json = acmerun("show", ids[0], "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout) == json.loads((tmp_path / "first.json").read_text())
    page = acmerun("show", ids[1], "--html", "second.html", cwd=tmp_path)
    assert page.returncode == 0 and page.stdout == ""
    assert "leaf01.earth" in (tmp_path / "second.html").read_text()

    # the file itself: 0600, and no password in its bytes nor in its compressed reports
    path = history_file()
    assert path.stat().st_mode & 0o777 == 0o600
    assert LAB_PASSWORD.encode() not in path.read_bytes()
    with sqlite3.connect(path) as db:
        reports = [zlib.decompress(r) for (r,) in db.execute("SELECT report FROM runs")]
        errors = [e for (e,) in db.execute("SELECT error FROM hosts WHERE error IS NOT NULL")]
    assert len(reports) == 2 and all(LAB_PASSWORD.encode() not in r for r in reports)
    assert b"note = '********'" in reports[0]
    assert len(errors) == 3 and not any(LAB_PASSWORD in e for e in errors)


def test_unknown_runs_and_bad_options_are_one_line_and_exit_5(
    tmp_path: Path, lab_url: str, secret_scan: Any
) -> None:
    empty = acmerun("history", cwd=tmp_path)
    assert empty.returncode == 0 and empty.stdout.startswith("no run recorded yet (no history at")
    assert not history_file().exists()  # listing does not create it
    assert acmerun("history", "--json", cwd=tmp_path).stdout.strip() == "[]"
    run(tmp_path, lab_url)
    cases = {
        ("history", "--since", "yesterday"): "--since 'yesterday' is neither a time back",
        ("show", "20260101T000000Z-00000000"): "no such run in",
        ("show", "nothing.json"): "nothing.json: no such file",
        (
            "audit.yml",
            "-e",
            "note=x",
            "--rerun-failed",
            "last",
        ): "--rerun-failed last: not a run id",
        (
            "audit.yml",
            "-e",
            "note=x",
            "--rerun-failed",
            "20260101T000000Z-00000000",
        ): "no such run in",
        (
            "audit.yml",
            "-e",
            "note=x",
            "--history",
            "h.sqlite",
            "--no-history",
        ): "cannot be used together",
    }
    for args, said in cases.items():
        done = acmerun(*args, cwd=tmp_path, lab_url=lab_url)
        assert done.returncode == 5, (args, done.stdout, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and said in lines[0], (args, done.stderr)
    assert "acmerun history" in acmerun("show", "20260101T000000Z-00000000", cwd=tmp_path).stderr


def test_rerun_failed_runs_exactly_the_failed_and_unreachable_hosts(
    tmp_path: Path, lab_url: str, secret_scan: Any
) -> None:
    first = run(tmp_path, lab_url, "--report", "all.json")
    assert first.returncode == 2 and len(hosts_of(tmp_path / "all.json")) == HOSTS
    first_id = json.loads((tmp_path / "all.json").read_text())["run_id"]

    again = run(tmp_path, lab_url, "--rerun-failed", "--report", "again.json")
    assert again.returncode == 2, again.stdout + again.stderr
    assert hosts_of(tmp_path / "again.json") == FAILED
    limited = run(tmp_path, lab_url, "--rerun-failed", first_id, "-l", "leaf*", "--report", "l")
    assert limited.returncode == 2 and hosts_of(tmp_path / "l") == {"leaf01.earth"}
    recorded = json.loads(acmerun("history", "-n", "1", "--json", cwd=tmp_path).stdout)[0]
    assert recorded["options"]["rerun_failed"] == first_id

    # with an empty intersection, a clean last run, or a run of another runbook: nothing runs
    none_left = run(tmp_path, lab_url, "--rerun-failed", "-l", "spine*")
    assert none_left.returncode == 5 and "--rerun-failed" in none_left.stderr
    runbook(tmp_path, "clean.yml", CLEAN)
    clean = acmerun("clean.yml", "-l", "leaf*", cwd=tmp_path, lab_url=lab_url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    nothing = acmerun("clean.yml", "--rerun-failed", cwd=tmp_path, lab_url=lab_url)
    assert nothing.returncode == 5
    assert "no host failed or was unreachable in run" in nothing.stderr
    assert "nothing to run again" in nothing.stderr and len(nothing.stderr.splitlines()) == 1
    other = acmerun("clean.yml", "--rerun-failed", first_id, cwd=tmp_path, lab_url=lab_url)
    assert other.returncode == 5
    assert f"--rerun-failed {first_id}: that run was of audit.yml, not of clean.yml" in other.stderr
    never = acmerun(runbook(tmp_path, "never.yml", CLEAN), "--rerun-failed", cwd=tmp_path)
    assert never.returncode == 5 and "no run of never.yml recorded" in never.stderr
    assert nothing.stdout == other.stdout == never.stdout == ""  # no target line: no run


def _plant_newer(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")


@pytest.mark.parametrize(
    ("plant", "said"),
    [
        (lambda p: p.mkdir(), "Is a directory"),
        (lambda p: p.write_bytes(b"not a database at all" * 100), "file is not a database"),
        (_plant_newer, "schema version 99, newer than this acmerun's"),
        (lambda p: p.symlink_to(p.parent / "elsewhere"), "a symlink is never followed"),
    ],
    ids=["directory", "corrupt", "newer-schema", "symlink"],
)
def test_a_history_that_cannot_be_written_never_changes_the_exit_code(
    plant: Any, said: str, tmp_path: Path, lab_url: str, secret_scan: Any
) -> None:
    path = tmp_path / "history.sqlite"
    plant(path)
    before = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    done = run(tmp_path, lab_url, "--report", "r.json", ACMERUN_HISTORY=str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("acmerun: warning: history: "), done.stderr
    assert said in lines[0]
    assert len(hosts_of(tmp_path / "r.json")) == HOSTS  # the reports were written all the same
    if before is not None:
        assert path.read_bytes() == before
    assert not (tmp_path / "elsewhere").exists()


def test_a_history_locked_past_the_timeout_is_a_warning(
    tmp_path: Path, lab_url: str, secret_scan: Any
) -> None:
    assert run(tmp_path, lab_url).returncode == 2
    holder = sqlite3.connect(history_file(), isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        done = run(tmp_path, lab_url)
    finally:
        holder.close()
    assert done.returncode == 2
    assert done.stderr.startswith("acmerun: warning: history: ")
    assert "database is locked" in done.stderr and len(done.stderr.splitlines()) == 1
    assert len(acmerun("history", cwd=tmp_path).stdout.splitlines()) == 1


def test_concurrent_runs_of_several_runbooks_are_all_recorded(
    tmp_path: Path, lab_url: str, secret_scan: Any
) -> None:
    count = 4
    with Gate() as gate:
        names = [runbook(tmp_path, f"audit{n}.yml", RUNBOOK + gate.step()) for n in range(count)]
        env = processes.environment(lab_url)
        started = [
            processes.start_acmerun(name, "-e", "note=x", "-w", "20", env=env, cwd=tmp_path)
            for name in names
        ]
        try:
            # every run has its hosts at the gate: released together, they all write at once
            gate.wait_until(
                lambda arrivals: {a.pid for a in arrivals} == {*_pids(started)}, "every run"
            )
            gate.open()
            results = [p.communicate(timeout=120) for p in started]
        finally:
            processes.stop(started)
    assert [p.returncode for p in started] == [3] * count  # leaf01 passes with note=x, results
    assert all(err == "" for _, err in results), results
    listed = json.loads(acmerun("history", "--json", cwd=tmp_path).stdout)
    assert sorted(r["runbook"]["path"] for r in listed) == names
    with sqlite3.connect(history_file()) as db:
        assert db.execute("SELECT count(*) FROM hosts").fetchone()[0] == count * HOSTS
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _pids(started: list[processes.Process]) -> list[int]:
    return [p.proc.pid for p in started]


def test_an_interrupted_run_is_recorded_with_exit_99(
    tmp_path: Path, lab_url: str, secret_scan: Any
) -> None:
    with Gate() as gate:
        name = runbook(tmp_path, "gated.yml", RUNBOOK + gate.step())
        env = processes.environment(lab_url)
        started = processes.start_acmerun(name, "-e", "note=x", "-w", "1", env=env, cwd=tmp_path)
        try:
            gate.wait_for(1)
            processes.wait_until_caught(started, signal.SIGINT)
            started.send_signal(signal.SIGINT)
            gate.open()
            started.communicate(timeout=120)
        finally:
            processes.stop([started])
    assert started.returncode == 99
    (entry,) = json.loads(acmerun("history", "--json", cwd=tmp_path).stdout)
    assert entry["exit_code"] == 99 and entry["interrupted"] is True
    assert entry["totals"]["interrupted"] > 0
    assert "interrupted" in acmerun("history", cwd=tmp_path).stdout


def test_an_older_history_is_migrated_forward_and_keeps_its_runs(
    tmp_path: Path, lab_url: str, secret_scan: Any
) -> None:
    path = history_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    old_id = "20260101T020000Z-0badc0de"
    with sqlite3.connect(path) as db:
        for statement in MIGRATIONS[1]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute(
            "INSERT INTO runs VALUES (?, 'audit.yml', ?, 'ab', 'old', '2026-01-01T02:00:00.000Z',"
            " '2026-01-01T02:01:00.000Z', 3, 0, 't', 0, '{}', ?)",
            (old_id, str((tmp_path / "audit.yml").resolve()), json.dumps({"unreachable": 1})),
        )
        db.execute("INSERT INTO hosts VALUES (?, 'edge00.earth', 'unreachable', 0, NULL, NULL)",
                   (old_id,))  # fmt: skip
    db.close()
    assert run(tmp_path, lab_url).returncode == 2
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    listed = acmerun("history", "audit.yml", cwd=tmp_path).stdout.splitlines()
    assert len(listed) == 2 and listed[1].startswith(f"{old_id}  2026-01-01 02:00:00Z  audit.yml")
    # the old run's failed hosts can be run again; its report was not kept
    again = run(tmp_path, lab_url, "--rerun-failed", old_id, "--report", "again.json")
    assert again.returncode == 3 and hosts_of(tmp_path / "again.json") == {"edge00.earth"}
    shown = acmerun("show", old_id, cwd=tmp_path)
    assert shown.returncode == 5 and "its report was not kept" in shown.stderr
