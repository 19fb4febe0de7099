"""``kill -9`` at random moments leaves whole files; one run per runbook, others in parallel."""

from __future__ import annotations

import json
import random
import shutil
import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.support import processes

RUNBOOKS = Path(__file__).parent / "runbooks"
HOSTS = 10


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[processes.LabProcess]:
    """Earth with 4 leaves, every device call 40 ms: a 2-worker audit lasts about a second."""
    lab = processes.start_lab("--latency-ms", "40", cwd=tmp_path)
    try:
        yield lab
    finally:
        processes.stop([lab])


def test_kill_9_of_acmerun_never_leaves_a_partial_report(
    fleet: processes.LabProcess, tmp_path: Path
) -> None:
    previous = {"previous": True}
    (tmp_path / "r.json").write_text(json.dumps(previous))
    env = processes.environment(fleet.url)
    args = (str(RUNBOOKS / "long-audit.yml"), "--report", "r.json", "--junit", "r.xml")
    moments = random.Random(6)
    kept = replaced = 0
    for _ in range(5):
        run = processes.start_acmerun(*args, env=env, cwd=tmp_path)
        try:
            time.sleep(moments.uniform(0.3, 3.0))
        finally:
            run.kill()
        report = json.loads((tmp_path / "r.json").read_text())
        if report == previous:
            kept += 1
        else:
            replaced += 1
            assert len(report["hosts"]) == HOSTS and report["exit_code"] == 0
            previous = report
        if (tmp_path / "r.xml").exists():
            ET.parse(tmp_path / "r.xml")
    assert kept >= 1, "no kill landed before the report was written"
    # the lock died with the killed run: the next run is not turned away
    done = processes.run_acmerun(*args, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads((tmp_path / "r.json").read_text())["hosts"]) == HOSTS


def test_kill_9_of_the_lab_never_leaves_an_unloadable_state_file(tmp_path: Path) -> None:
    state = tmp_path / "lab-state.json"
    moments = random.Random(9)
    written = 0
    for round_ in range(4):
        lab = processes.start_lab("--state", str(state), "--reboot-seconds", "0.05", cwd=tmp_path)
        run = processes.start_acmerun(
            str(RUNBOOKS / "upgrade.yml"),
            "-e",
            f"target_version=7.{round_}.0",
            env=processes.environment(lab.url),
            cwd=tmp_path,
        )
        try:
            assert run.readline().startswith("target: inventory")
            time.sleep(moments.uniform(0.1, 1.2))
        finally:
            lab.kill()
            run.kill()
        if state.exists():
            versions = json.loads(state.read_text())["devices"]
            written += sum(1 for v in versions.values() if v == f"7.{round_}.0")
    assert written >= 1, "no kill landed after the lab had written its state"
    # the state file the last kill left is one the lab loads
    lab = processes.start_lab("--state", str(state), cwd=tmp_path)
    processes.stop([lab])


def _window(report: Path) -> tuple[datetime, datetime]:
    data = json.loads(report.read_text())
    return datetime.fromisoformat(data["started"][:-1]), datetime.fromisoformat(data["ended"][:-1])


def test_same_runbook_twice_at_once_one_runs_the_other_exits_7(
    fleet: processes.LabProcess, tmp_path: Path
) -> None:
    env = processes.environment(fleet.url)
    runbook = str(RUNBOOKS / "long-audit.yml")
    runs = [
        processes.start_acmerun(runbook, "--quiet", "--report", f"{n}.json", env=env, cwd=tmp_path)
        for n in range(2)
    ]
    try:
        outputs = [run.communicate(timeout=60) for run in runs]
    finally:
        for run in runs:
            run.kill()
    codes = sorted(run.returncode for run in runs)
    assert codes == [0, 7], outputs
    loser = next(i for i, run in enumerate(runs) if run.returncode == 7)
    winner = runs[1 - loser]
    assert outputs[loser] == (
        "",
        f"acmerun: error: {runbook} is locked by another acmerun run (pid {winner.pid}); "
        "use --wait-lock SECONDS to wait for it\n",
    )
    assert not (tmp_path / f"{loser}.json").exists()


def test_different_runbooks_run_in_parallel(fleet: processes.LabProcess, tmp_path: Path) -> None:
    env = processes.environment(fleet.url)
    copies = [tmp_path / "first.yml", tmp_path / "second.yml"]
    for copy in copies:
        shutil.copy(RUNBOOKS / "long-audit.yml", copy)
    runs = [
        processes.start_acmerun(str(c), "-q", "--report", f"{c.stem}.json", env=env, cwd=tmp_path)
        for c in copies
    ]
    try:
        for run in runs:
            run.communicate(timeout=60)
    finally:
        for run in runs:
            run.kill()
    assert [run.returncode for run in runs] == [0, 0]
    (start_a, end_a), (start_b, end_b) = (_window(tmp_path / f"{c.stem}.json") for c in copies)
    assert start_a < end_b and start_b < end_a, "the two runs did not overlap"


def test_a_run_killed_with_sigkill_frees_its_lock_at_once(
    fleet: processes.LabProcess, tmp_path: Path
) -> None:
    env = processes.environment(fleet.url)
    runbook = str(RUNBOOKS / "long-audit.yml")
    first = processes.start_acmerun(runbook, env=env, cwd=tmp_path)
    try:
        assert first.readline().startswith("target: inventory")  # it holds the lock
        assert processes.run_acmerun(runbook, env=env, cwd=tmp_path).returncode == 7
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
    assert processes.run_acmerun(runbook, "-q", env=env, cwd=tmp_path).returncode == 0
