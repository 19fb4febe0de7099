"""A report file is always whole: kill -9 the writer at any moment, the file still parses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from acmerun.report.atomic import write_atomic, write_atomic_new

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from acmerun.outcome import HostOutcome, RunOutcome, Status, StepOutcome
    from acmerun.report.json import JsonReport

    path, hosts = sys.argv[1], int(sys.argv[2])
    now = datetime.now(timezone.utc)
    outcome = RunOutcome("big.yml", "big", False, now, now, {
        f"dev{i:05d}": HostOutcome(f"dev{i:05d}", Status.CHANGED, [
            StepOutcome("upgrade", "acmeos.upgrade_os", Status.CHANGED, changed=True,
                        result={"log": "x" * 400, "n": i})
        ]) for i in range(hosts)
    })
    n = 0
    while True:
        n += 1
        outcome.target = f"write {n}"
        JsonReport(path, exit_code=0).write(outcome)
        print(n, flush=True)
    """
)

HOSTS = 4000


@pytest.mark.slow
def test_kill_9_never_leaves_a_partial_report(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[3]), *sys.path])
    targets: set[str] = set()
    for writes in range(1, 7):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path), str(HOSTS)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None
        for _ in range(writes):  # that many complete writes, each over the one before
            proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)  # while it writes the next one
        proc.wait()
        proc.stdout.close()
        data = json.loads(path.read_text())
        assert len(data["hosts"]) == HOSTS
        targets.add(data["target"])
    assert len(targets) > 1  # kills did land in different writes


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    write_atomic(path, "first")
    write_atomic(path, b"second")
    assert path.read_text() == "second"
    assert os.listdir(tmp_path) == ["r.txt"]


def test_write_atomic_new_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("mine")
    first = write_atomic_new(tmp_path, "run", ".json", "a")
    second = write_atomic_new(tmp_path, "run", ".json", "b")
    assert (first.name, second.name) == ("run-2.json", "run-3.json")
    assert (tmp_path / "run.json").read_text() == "mine"
    assert first.read_text() == "a"
    assert second.read_text() == "b"
    assert sorted(os.listdir(tmp_path)) == ["run-2.json", "run-3.json", "run.json"]


def test_write_atomic_replaces_a_planted_symlink_not_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    report = tmp_path / "report.json"
    report.symlink_to(victim)
    write_atomic(report, "{}\n")
    assert victim.read_text() == "precious\n"
    assert victim.stat().st_mode & 0o7777 == 0o644
    assert not report.is_symlink()
    assert report.read_text() == "{}\n"


def test_write_atomic_never_inherits_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("old\n")
    report.chmod(0o666)
    write_atomic(report, "new\n")
    assert report.stat().st_mode & 0o7777 == 0o640
    fresh = write_atomic_new(tmp_path, "run", ".json", "{}\n")
    assert fresh.stat().st_mode & 0o7777 == 0o640
