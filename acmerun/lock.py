"""One run per runbook at a time: a lock file per runbook in the state directory.

The lock is an ``flock`` on ``<state dir>/locks/<hash of the runbook file's
device and inode>.lock``, so two runs of the same runbook exclude each other
whichever way the path was spelled (a hard link or a symlink included); the lock
file is opened without following a symlink at its name, and the kernel releases
the lock when a run dies however it dies (no stale lock to clean up after a
crash or ``kill -9``). The holder writes its pid and the runbook's path into the
file, so the run that is turned away can say who holds it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from pathlib import Path
from types import TracebackType

from acmerun import paths
from acmerun.errors import BadOptions, RunbookLocked

#: how often a run waiting for a lock (``--wait-lock``) tries again, in seconds
POLL_INTERVAL = 0.1


def lock_path(runbook: str | os.PathLike[str]) -> Path:
    """The lock file of a runbook: one per file (device and inode), however it is reached.

    A hard link or a symlink to the runbook shares its lock; a runbook that
    cannot be stat'ed falls back to its resolved path.
    """
    try:
        st = os.stat(runbook)
        key = f"inode:{st.st_dev}:{st.st_ino}"
    except OSError:
        key = str(Path(runbook).resolve())
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return paths.state_dir() / "locks" / f"{digest}.lock"


class RunbookLock:
    """The lock of one runbook; ``with RunbookLock(path, wait=30):`` holds it for the block.

    ``wait`` is how many seconds to wait for another run to finish (0: do not
    wait); past it, ``RunbookLocked`` names the other run's pid.
    """

    def __init__(self, runbook: str | os.PathLike[str], wait: float = 0.0) -> None:
        self.runbook = str(runbook)
        self.path = lock_path(runbook)
        self.wait = max(0.0, wait)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting up to ``wait`` seconds; ``RunbookLocked`` if it stays taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as e:
            raise BadOptions(
                f"cannot open the lock file {self.path}: {e.strerror}"
                " (remove it if it is a symlink)"
            ) from None
        deadline = time.monotonic() + self.wait
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RunbookLocked(self._held_message()) from None
                    time.sleep(min(POLL_INTERVAL, left))
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n{Path(self.runbook).resolve()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Let the next run in. The file stays: removing it would race with a run taking it."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def holder_pid(self) -> int | None:
        """The pid of the run holding the lock, as it wrote it (None if unknown)."""
        try:
            first = self.path.read_text(encoding="utf-8").split("\n", 1)[0]
            return int(first)
        except (OSError, ValueError):
            return None

    def _held_message(self) -> str:
        pid = self.holder_pid()
        who = f"another acmerun run (pid {pid})" if pid else "another acmerun run"
        waited = f" after waiting {self.wait:g}s" if self.wait else ""
        hint = "" if self.wait else "; use --wait-lock SECONDS to wait for it"
        return f"{self.runbook} is locked by {who}{waited}{hint}"

    def __enter__(self) -> RunbookLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
