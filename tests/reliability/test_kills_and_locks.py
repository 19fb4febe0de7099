"""``kill -9`` at known moments leaves whole files; one run per runbook, others in parallel.

The moments are events, not sleeps: a runbook's last step waits at a ``Gate``
(``tests/support/gate.py``), so the test knows a run is in progress and holds
its lock; a kill aimed at the report write waits for the report's temporary
file to appear (``tests/support/watch.py``).
"""

from __future__ import annotations

import json
import shutil
import signal
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from acmerun.lock import lock_path
from tests.support import processes
from tests.support.gate import Gate
from tests.support.watch import watch_folder

RUNBOOKS = Path(__file__).parent / "runbooks"
HOSTS = 10


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[processes.LabProcess]:
    """Earth with 4 leaves: 10 devices."""
    lab = processes.start_lab(cwd=tmp_path)
    try:
        yield lab
    finally:
        processes.stop([lab])


@pytest.fixture
def gate() -> Iterator[Gate]:
    with Gate() as gate:
        yield gate


def gated(tmp_path: Path, gate: Gate, name: str = "long-audit.yml") -> Path:
    """A copy of ``runbooks/NAME`` in ``tmp_path`` whose hosts wait at ``gate`` at the end."""
    copy = tmp_path / name
    copy.write_text((RUNBOOKS / name).read_text() + gate.step())
    return copy


def whole_report(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text())
    assert len(report["hosts"]) == HOSTS and report["exit_code"] == 0, report
    return report


def test_kill_9_of_acmerun_never_leaves_a_partial_report(
    fleet: processes.LabProcess, gate: Gate, tmp_path: Path
) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    previous: dict[str, Any] = {"previous": True}
    report.write_text(json.dumps(previous))
    env = processes.environment(fleet.url)
    args = (str(gated(tmp_path, gate)), "--report", "r.json", "--junit", "r.xml")

    # killed with its hosts in flight: the report in place is untouched, no JUnit file
    run = processes.start_acmerun(*args, env=env, cwd=tmp_path)
    try:
        gate.wait_for(1)
    finally:
        run.kill()
    assert json.loads(report.read_text()) == previous
    assert not junit.exists()

    # killed the moment it starts writing a report: the old file or the new one, whole
    gate.open()
    for _ in range(3):
        with watch_folder(tmp_path) as folder:
            run = processes.start_acmerun(*args, env=env, cwd=tmp_path)
            try:
                folder.wait_for(lambda name: name.startswith((".r.json.", ".r.xml.")))
            finally:
                run.kill()
        content = json.loads(report.read_text())
        if content != previous:
            previous = whole_report(report)
        if junit.exists():
            ET.parse(junit)

    # the lock died with the killed runs; a run to its end replaces the report whole
    done = processes.run_acmerun(*args, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    replaced = whole_report(report)
    assert replaced != previous and replaced["started"] != previous.get("started")
    assert len(ET.parse(junit).getroot().findall(".//testcase")) >= HOSTS


def test_kill_9_of_the_lab_never_leaves_an_unloadable_state_file(tmp_path: Path) -> None:
    state = tmp_path / "lab-state.json"

    def versions() -> dict[str, str]:
        if not state.exists():
            return {}
        found: dict[str, str] = json.loads(state.read_text())["devices"]
        return found

    for round_ in range(3):
        target = f"7.{round_}.0"
        lab = processes.start_lab("--state", str(state), "--reboot-seconds", "0.05", cwd=tmp_path)
        run = processes.start_acmerun(
            str(RUNBOOKS / "upgrade.yml"),
            "-e",
            f"target_version={target}",
            env=processes.environment(lab.url),
            cwd=tmp_path,
        )
        try:
            # the lab wrote a first upgrade to its state; others are under way: kill it now
            processes.wait_until(
                lambda: target in versions().values(),  # noqa: B023 (called in this round)
                f"the lab saved a device at {target}",
            )
        finally:
            lab.kill()
            run.kill()
        assert target in versions().values()  # the file the kill left loads, with the upgrade
    # the state file the last kill left is one the lab starts from
    lab = processes.start_lab("--state", str(state), cwd=tmp_path)
    processes.stop([lab])


def _window(report: Path) -> tuple[datetime, datetime]:
    data = json.loads(report.read_text())
    return datetime.fromisoformat(data["started"][:-1]), datetime.fromisoformat(data["ended"][:-1])


def test_same_runbook_twice_at_once_one_runs_the_other_exits_7(
    fleet: processes.LabProcess, gate: Gate, tmp_path: Path
) -> None:
    env = processes.environment(fleet.url)
    runbook = str(gated(tmp_path, gate))
    first = processes.start_acmerun(runbook, "--report", "0.json", env=env, cwd=tmp_path)
    try:
        # the target line comes once the run holds the lock and has written its pid there
        assert first.readline().startswith("target: ")
        assert lock_path(runbook).read_text().split("\n")[0] == str(first.pid)
        second = processes.run_acmerun(
            runbook, "--quiet", "--report", "1.json", env=env, cwd=tmp_path
        )
        gate.open()
        assert first.wait(timeout=60) == 0
    finally:
        first.kill()
    assert (second.returncode, second.stdout, second.stderr) == (
        7,
        "",
        f"acmerun: error: {runbook} is locked by another acmerun run (pid {first.pid}); "
        "use --wait-lock SECONDS to wait for it\n",
    )
    assert not (tmp_path / "1.json").exists()
    whole_report(tmp_path / "0.json")


def test_different_runbooks_run_in_parallel(
    fleet: processes.LabProcess, gate: Gate, tmp_path: Path
) -> None:
    env = processes.environment(fleet.url)
    copies = [tmp_path / "first.yml", tmp_path / "second.yml"]
    for copy in copies:
        shutil.copy(gated(tmp_path, gate), copy)
    runs = [
        processes.start_acmerun(str(c), "-q", "--report", f"{c.stem}.json", env=env, cwd=tmp_path)
        for c in copies
    ]
    try:
        # hosts of both runs wait at the gate at the same time: neither run waits for the other
        pids = {run.pid for run in runs}
        gate.wait_until(lambda came: pids <= {a.pid for a in came}, "a host of each run")
        gate.open()
        for run in runs:
            run.communicate(timeout=60)
    finally:
        for run in runs:
            run.kill()
    assert [run.returncode for run in runs] == [0, 0]
    (start_a, end_a), (start_b, end_b) = (_window(tmp_path / f"{c.stem}.json") for c in copies)
    assert start_a < end_b and start_b < end_a, "the two runs did not overlap"


def test_a_run_killed_with_sigkill_frees_its_lock_at_once(
    fleet: processes.LabProcess, gate: Gate, tmp_path: Path
) -> None:
    env = processes.environment(fleet.url)
    runbook = str(gated(tmp_path, gate))
    first = processes.start_acmerun(runbook, env=env, cwd=tmp_path)
    try:
        gate.wait_for(1)  # a host of the first run is in flight: it holds the lock
        assert processes.run_acmerun(runbook, env=env, cwd=tmp_path).returncode == 7
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        first.kill()
    gate.open()
    assert processes.run_acmerun(runbook, "-q", env=env, cwd=tmp_path).returncode == 0
