"""Report paths that would clobber an input, a device or each other are refused before the run."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.support import processes

DATA = Path(__file__).resolve().parents[1] / "data"


def _env() -> dict[str, str]:
    env = processes.environment()
    for var in ("ACME_INVENTORY_URL", "ACMEOS_USERNAME", "ACMEOS_PASSWORD", "ACMERUN_CONFIG"):
        env.pop(var, None)
    return env


CASES = [
    # the device and its links live in the test's folder (made with mknod), so a regression
    # cannot replace the machine's own /dev/null or /dev/stdout with a regular file
    (["--report", "null"], "--report: null is not a regular file"),
    (["--junit", "stdout"], "--junit: stdout is not a regular file"),
    (["--report", "devlink"], "--report: devlink is not a regular file"),
    (["--report", "folder"], "is a directory"),
    (["--report", "rb.yml"], "--report: rb.yml is the runbook"),
    (["--junit", "hard.yml"], "--junit: hard.yml is the runbook"),
    (["--report", "soft.yml"], "--report: soft.yml is the runbook"),
    (["--report", "x.json", "--junit", "x.json"], "--junit: x.json is also given to --report"),
    (["--report", "missing/sub/x.json"], None),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_bad_report_path_is_exit_5_before_any_device_is_touched(
    tmp_path: Path, args: list[str], message: str | None
) -> None:
    runbook = tmp_path / "rb.yml"
    shutil.copy(DATA / "upgrade.yml", runbook)
    runbook.chmod(0o644)
    os.link(runbook, tmp_path / "hard.yml")
    (tmp_path / "soft.yml").symlink_to(runbook)
    os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # as /dev/null
    (tmp_path / "devlink").symlink_to(tmp_path / "null")
    (tmp_path / "stdout").symlink_to("/proc/self/fd/1")  # as /dev/stdout
    (tmp_path / "folder").mkdir()
    before = runbook.read_bytes()
    env = _env()
    if message is None:  # a directory that cannot be created: a plain file in the way
        (tmp_path / "missing").write_text("in the way\n")
    run = processes.run_acmerun(str(runbook), "--lab", *args, env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == 5, run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("acmerun: error: "), run.stderr
    if message is not None:
        assert message in lines[0]
    assert "Traceback" not in run.stderr
    assert runbook.read_bytes() == before
    assert runbook.stat().st_mode & 0o7777 == 0o644
    assert stat.S_ISCHR((tmp_path / "null").stat().st_mode)  # the device is still a device
    assert (tmp_path / "stdout").is_symlink()
    assert not (Path(env["ACMERUN_STATE_DIR"]) / "lab-state.json").exists()
