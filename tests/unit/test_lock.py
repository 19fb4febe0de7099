"""The per-runbook lock: a second run of the same runbook is turned away, naming the first."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from acmerun.errors import BadOptions, ExitCode, RunbookLocked
from acmerun.lock import RunbookLock, lock_path


def test_second_lock_on_the_same_runbook_names_the_holder(tmp_path: Path) -> None:
    runbook = tmp_path / "rb.yml"
    runbook.write_text("name: x\n")
    with RunbookLock(runbook), pytest.raises(RunbookLocked) as caught:
        RunbookLock(runbook).acquire()
    assert caught.value.exit_code == ExitCode.LOCKED
    assert str(caught.value) == (
        f"{runbook} is locked by another acmerun run (pid {os.getpid()}); "
        "use --wait-lock SECONDS to wait for it"
    )


def test_released_lock_can_be_taken_again(tmp_path: Path) -> None:
    runbook = tmp_path / "rb.yml"
    runbook.write_text("name: x\n")
    with RunbookLock(runbook):
        pass
    with RunbookLock(runbook) as lock:
        assert lock.holder_pid() == os.getpid()


def test_the_same_runbook_spelled_differently_shares_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    runbook = tmp_path / "rb.yml"
    runbook.write_text("name: x\n")
    monkeypatch.chdir(tmp_path / "sub")
    assert lock_path("../rb.yml") == lock_path(runbook)
    assert lock_path(runbook) != lock_path(tmp_path / "other.yml")
    with RunbookLock("../rb.yml"), pytest.raises(RunbookLocked):
        RunbookLock(runbook).acquire()


def test_different_runbooks_do_not_block_each_other(tmp_path: Path) -> None:
    with RunbookLock(tmp_path / "a.yml"), RunbookLock(tmp_path / "b.yml"):
        pass


def test_wait_lock_gives_up_after_the_wait(tmp_path: Path) -> None:
    runbook = tmp_path / "rb.yml"
    with RunbookLock(runbook):
        started = time.monotonic()
        with pytest.raises(RunbookLocked, match=r"after waiting 0.3s"):
            RunbookLock(runbook, wait=0.3).acquire()
        assert 0.3 <= time.monotonic() - started < 10  # it gives up after its wait


def test_lock_files_live_in_the_state_dir(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "rb.yml").parent == Path(os.environ["ACMERUN_STATE_DIR"]) / "locks"


def test_a_hard_link_and_a_symlink_to_the_runbook_share_its_lock(tmp_path: Path) -> None:
    runbook = tmp_path / "rb.yml"
    runbook.write_text("name: x\n")
    hard = tmp_path / "hard.yml"
    os.link(runbook, hard)
    soft = tmp_path / "soft.yml"
    soft.symlink_to(runbook)
    with RunbookLock(runbook):
        for other in (hard, soft):
            with pytest.raises(RunbookLocked) as caught:
                RunbookLock(other).acquire()
            assert caught.value.exit_code == ExitCode.LOCKED


def test_a_symlink_planted_at_the_lock_path_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    runbook = tmp_path / "rb.yml"
    runbook.write_text("name: x\n")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    path = lock_path(runbook)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(victim)
    with pytest.raises(BadOptions) as caught:
        RunbookLock(runbook).acquire()
    assert caught.value.exit_code == ExitCode.BAD_OPTIONS
    assert str(caught.value).startswith(f"cannot open the lock file {path}: ")
    assert victim.read_text() == "precious\n"
    assert victim.stat().st_mode & 0o7777 == 0o644
