"""Report files that are always whole: a reader (or a kill -9) never sees half of one.

The content is written to a temporary file in the destination's directory,
flushed to disk, then renamed over the destination in one step. A crash at any
moment leaves the previous file or the new complete one; at worst a stray
hidden ``.NAME.*.tmp`` file next to it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acmerun.outcome import RunOutcome

#: permissions of every report written, new or replacing one (never the old file's)
NEW_FILE_MODE = 0o640


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Replace ``path`` with ``data`` so that no reader ever sees a partial file.

    Returns the path written. If writing fails, the previous file (if any) is
    left untouched and the error propagates.
    """
    target = Path(path)
    tmp = _write_temp(target, data)
    try:
        os.chmod(tmp, NEW_FILE_MODE)
        # rename replaces a symlink at ``path`` itself, never the file it points to
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _fsync_directory(target.parent)
    return target


def write_atomic_new(
    directory: str | os.PathLike[str], stem: str, suffix: str, data: bytes | str
) -> Path:
    """Write ``data`` to a new file ``DIRECTORY/STEM[-N]SUFFIX``, never overwriting one.

    ``-2``, ``-3``, ... are added to the name until it is free, so two runs that
    start in the same second (even in two processes) get two files.
    """
    folder = Path(directory)
    tmp = _write_temp(folder / f"{stem}{suffix}", data)
    try:
        os.chmod(tmp, NEW_FILE_MODE)
        for n in range(1, 10_000):
            candidate = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
            try:
                os.link(tmp, candidate)
            except FileExistsError:
                continue
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                # no hard links on this file system: check, then rename (racy, but whole)
                if candidate.exists():
                    continue
                os.replace(tmp, candidate)
            _fsync_directory(folder)
            return candidate
        raise FileExistsError(errno.EEXIST, "no free report file name", str(folder / stem))
    finally:
        _unlink_quietly(tmp)


def timestamped_stem(runbook: str, started: datetime) -> str:
    """``<runbook-stem>-YYYYMMDDTHHMMSSZ`` for a run of ``runbook`` started at ``started``."""
    stem = Path(runbook).stem or "run"
    return f"{stem}-{as_utc(started).strftime('%Y%m%dT%H%M%SZ')}"


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _write_temp(target: Path, data: bytes | str) -> str:
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FileReport:
    """A report written to ``path``, or to a new timestamped file in ``directory``.

    ``exit_code`` is the code the run exits with (the caller decides it);
    ``secrets`` are masked wherever they would appear. After ``write``, ``written``
    is the path of the file. A subclass gives its ``suffix`` and its ``text``.
    """

    suffix = ""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        directory: str | os.PathLike[str] | None = None,
        exit_code: int,
        secrets: Iterable[str | None] = (),
    ) -> None:
        if (path is None) == (directory is None):
            raise ValueError(f"{type(self).__name__} needs exactly one of path or directory")
        self.path = Path(path) if path is not None else None
        self.directory = Path(directory) if directory is not None else None
        self.exit_code = int(exit_code)
        self.secrets = tuple(s for s in secrets if s)
        self.written: Path | None = None

    def text(self, outcome: RunOutcome) -> str:
        """The report's whole text."""
        raise NotImplementedError

    def write(self, outcome: RunOutcome) -> None:
        """Write the report; the previous file at ``path`` is replaced only by a complete one."""
        text = self.text(outcome)
        if self.path is not None:
            self.written = write_atomic(self.path, text)
        else:
            assert self.directory is not None
            self.directory.mkdir(parents=True, exist_ok=True)
            stem = timestamped_stem(outcome.runbook, outcome.started)
            self.written = write_atomic_new(self.directory, stem, self.suffix, text)
