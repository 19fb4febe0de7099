"""Output paths are checked before anything is touched: a bad one is exit 5 at once."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from acmerun.errors import BadOptions
from acmerun.session.options import RunOptions


def check_report_paths(options: RunOptions) -> None:
    """Report folders exist and are writable before any device is touched (exit 5 if not)."""
    folders: list[tuple[str, Path]] = []
    if options.report is not None:
        folders.append(("--report", options.report.parent))
    if options.junit is not None:
        folders.append(("--junit", options.junit.parent))
    if options.html is not None:
        folders.append(("--html", options.html.parent))
    events = options.events if options.events != Path("-") else None
    if events is not None:
        folders.append(("--events", events.parent))
    report_dir = options.report_dir or options.config.report_dir
    if report_dir is not None:
        folders.append(("--report-dir", report_dir))
    for option, folder in folders:
        check_folder(option, folder)
    _check_report_files(options)


def check_folder(option: str, folder: Path, *, create: bool = True) -> None:
    """``folder`` exists (created if ``create``) and can be written in; exit 5 if not."""
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadOptions(f"{option}: cannot create {folder}: {exc.strerror or exc}") from exc
    elif not folder.is_dir():
        raise BadOptions(f"{option}: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadOptions(f"{option}: cannot write in {folder}")


def check_output_file(
    option: str, target: Path, inputs: Mapping[tuple[int, int], str]
) -> tuple[int, int] | str:
    """``target`` is a regular file (or new) and none of ``inputs`` (identity -> what it is).

    Returns what identifies the file, to tell two outputs given the same file.
    """
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise BadOptions(f"{option}: cannot use {target}: {exc.strerror or exc}") from exc
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise BadOptions(f"{option}: {target} is {kind}; name a file to write the report to")
    if st is None:
        return str(target.parent.resolve() / target.name)
    key = (st.st_dev, st.st_ino)
    if key in inputs:
        raise BadOptions(f"{option}: {target} is {inputs[key]}; it would be overwritten")
    return key


def identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode), None when it cannot be stat'ed."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _check_report_files(options: RunOptions) -> None:
    """A report file is a regular file (or new), not an input of the run, not named twice."""
    inputs: dict[tuple[int, int], str] = {}
    for what, path in (("the runbook", options.runbook), ("the config file", options.config.path)):
        ident = identity(path) if path is not None else None
        if ident is not None:
            inputs.setdefault(ident, f"{what} {path}")
    seen: dict[tuple[int, int] | str, str] = {}
    events = options.events if options.events != Path("-") else None
    targets = (
        ("--report", options.report),
        ("--junit", options.junit),
        ("--html", options.html),
        ("--events", events),
    )
    for option, target in targets:
        if target is None:
            continue
        if option == "--events" and target.is_symlink():
            raise BadOptions(f"{option}: {target} is a symbolic link; name the file itself")
        key = check_output_file(option, target, inputs)
        if key in seen:
            raise BadOptions(f"{option}: {target} is also given to {seen[key]}; use two files")
        seen[key] = option
