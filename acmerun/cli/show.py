"""``acmerun show REPORT.json --html FILE``: a past run's JSON report, rendered as HTML."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import click

from acmerun.cli.boundary import CONTEXT
from acmerun.errors import BadOptions, ExitCode


@click.command("show", context_settings=CONTEXT)
@click.argument("report", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--html",
    "html_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the HTML report to FILE (atomically, mode 0640).",
)
def show(report: Path, html_file: Path) -> int:
    """Render a past run: REPORT is a JSON report (--report, --report-dir) of acmerun.

    Writes the same HTML page as `acmerun RUNBOOK --html FILE` would have,
    secrets masked. REPORT is the path of a JSON report file; past runs are
    not yet looked up by name or date.
    """
    from acmerun.report.atomic import write_atomic
    from acmerun.report.html import render
    from acmerun.report.json import outcome_from_report
    from acmerun.secrets import Secrets

    source = _source(report)
    _check_output(html_file, source)
    try:
        with report.open(encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise BadOptions(f"{report}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BadOptions(f"{report}: not an acmerun JSON report (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        where = f"{report}:{exc.lineno}:{exc.colno}"
        raise BadOptions(f"{where}: not an acmerun JSON report: {exc.msg}") from None
    except RecursionError:
        raise BadOptions(f"{report}: not an acmerun JSON report: nested too deep") from None
    try:
        outcome, code = outcome_from_report(data)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        if isinstance(exc, RecursionError):
            detail = "steps nested too deep"
        raise BadOptions(f"{report}: not an acmerun JSON report: {detail}") from None
    secrets = click.get_current_context().find_object(Secrets) or Secrets.from_environment()
    version = data.get("acmerun_version")
    page = render(
        outcome,
        exit_code=code,
        secrets=secrets,
        **({"version": str(version)} if version else {}),
    )
    try:
        write_atomic(html_file, page)
    except OSError as exc:
        raise BadOptions(f"--html: cannot write {html_file}: {exc.strerror or exc}") from None
    return int(ExitCode.OK)


def _source(report: Path) -> os.stat_result:
    try:
        st = report.stat()
    except FileNotFoundError:
        raise BadOptions(f"{report}: no such file; name a JSON report of acmerun") from None
    except OSError as exc:
        raise BadOptions(f"{report}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadOptions(f"{report}: not a regular file; name a JSON report of acmerun")
    return st


def _check_output(target: Path, source: os.stat_result) -> None:
    """The HTML file is a regular file (or new) in a writable folder, and not the report."""
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise BadOptions(f"--html: cannot use {target}: {exc.strerror or exc}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise BadOptions(f"--html: {target} is {kind}; name a file to write the report to")
    if st is not None and (st.st_dev, st.st_ino) == (source.st_dev, source.st_ino):
        raise BadOptions(f"--html: {target} is the JSON report; it would be overwritten")
    folder = target.parent
    if not folder.is_dir():
        raise BadOptions(f"--html: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadOptions(f"--html: cannot write in {folder}")
