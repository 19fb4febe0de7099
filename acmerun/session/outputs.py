"""Output paths are checked before anything is touched: a bad one is exit 5 at once."""

from __future__ import annotations

import os
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
    report_dir = options.report_dir or options.config.report_dir
    if report_dir is not None:
        folders.append(("--report-dir", report_dir))
    for option, folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadOptions(f"{option}: cannot create {folder}: {exc.strerror or exc}") from exc
        if not os.access(folder, os.W_OK | os.X_OK):
            raise BadOptions(f"{option}: cannot write in {folder}")
