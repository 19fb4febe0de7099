"""``acmerun show RUN``: a past run, from the history (RUN_ID) or a JSON report file.

Without options it prints the run's recap, as the run printed it; ``--json`` prints
its JSON report, ``--html FILE`` writes its HTML report.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import click

from acmerun.cli.boundary import CONTEXT
from acmerun.errors import BadOptions, ExitCode


@click.command("show", context_settings=CONTEXT)
@click.argument("run", metavar="RUN_ID|REPORT")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the HTML report to FILE (atomically, mode 0640).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run's JSON report.")
@click.option(
    "--history",
    "history_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The run history [default: $ACMERUN_HISTORY, else the state dir's history.sqlite].",
)
def show(run: str, html_file: Path | None, as_json: bool, history_file: Path | None) -> int:
    """Show a past run: its recap, its JSON report (--json) or its HTML report (--html).

    RUN is a run id from `acmerun history` (20261203T020000Z-3f9a1c2b) or the
    path of a JSON report (--report, --report-dir). Secrets are masked.
    """
    from acmerun.report.json import outcome_from_report
    from acmerun.secrets import Secrets
    from acmerun.session.outputs import check_folder, check_output_file
    from acmerun.session.runid import is_run_id

    report = Path(run)
    stored: str | None = None
    if is_run_id(run) and not report.exists():
        source, stored = _from_history(run, history_file)
        data = json.loads(stored)
    else:
        source = _source(report)
        data = _read_report(report)
    if html_file is not None:
        check_output_file("--html", html_file, {source: _what(run, report)})
        check_folder("--html", html_file.parent, create=False)
    try:
        outcome, code = outcome_from_report(data)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        if isinstance(exc, RecursionError):
            detail = "steps nested too deep"
        raise BadOptions(f"{report}: not an acmerun JSON report: {detail}") from None
    secrets = click.get_current_context().find_object(Secrets) or Secrets.from_environment()
    if as_json:
        from acmerun.report.json import report_text

        # the history keeps the report as the run wrote it (masked then); a file is re-read
        text = stored or report_text(outcome, exit_code=code, secrets=secrets)
        click.echo(text, nl=False)
    if html_file is not None:
        _write_html(html_file, outcome, code, secrets, data.get("acmerun_version"))
    if not as_json and html_file is None:
        _print_recap(outcome, code, secrets)
    return int(ExitCode.OK)


def _what(run: str, report: Path) -> str:
    return "the JSON report" if report.exists() else "the run history"


def _from_history(run_id: str, history_file: Path | None) -> tuple[tuple[int, int], str]:
    """The history file's identity and the run's JSON report text."""
    from acmerun.history import History
    from acmerun.session.history import history_path
    from acmerun.session.outputs import identity

    path = history_path(history_file)
    assert path is not None
    hint = "`acmerun history` lists the runs recorded"
    if not path.exists():
        raise BadOptions(f"{run_id}: no such run: no history yet at {path}; {hint}")
    with History.open(path, write=False) as history:
        entry = history.get(run_id)
    if entry is None:
        raise BadOptions(f"{run_id}: no such run in {path}; {hint}")
    text = entry.report_json()
    if text is None:
        raise BadOptions(f"{run_id}: its report was not kept (recorded by an older acmerun)")
    return identity(path) or (0, 0), text


def _read_report(report: Path) -> Any:
    try:
        with report.open(encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise BadOptions(f"{report}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BadOptions(f"{report}: not an acmerun JSON report (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        where = f"{report}:{exc.lineno}:{exc.colno}"
        raise BadOptions(f"{where}: not an acmerun JSON report: {exc.msg}") from None
    except RecursionError:
        raise BadOptions(f"{report}: not an acmerun JSON report: nested too deep") from None


def _write_html(path: Path, outcome: Any, code: int, secrets: Any, version: Any) -> None:
    from acmerun.report.atomic import write_atomic
    from acmerun.report.html import render

    page = render(
        outcome,
        exit_code=code,
        secrets=secrets,
        **({"version": str(version)} if version else {}),
    )
    try:
        write_atomic(path, page)
    except OSError as exc:
        raise BadOptions(f"--html: cannot write {path}: {exc.strerror or exc}") from None


def _print_recap(outcome: Any, code: int, secrets: Any) -> None:
    """The run's id, runbook, start and exit code, its target, then its recap."""
    from rich.console import Console

    from acmerun.report.json import iso_utc
    from acmerun.report.recap import Recap
    from acmerun.secrets import printable

    no_color = bool(os.environ.get("NO_COLOR"))
    ident = f"run {outcome.run_id}" if outcome.run_id else "run"
    head = f"{ident} of {outcome.runbook}, started {iso_utc(outcome.started)}, exit code {code}"
    click.echo(printable(secrets.mask(head)))
    if outcome.target:
        click.echo(printable(secrets.mask(outcome.target)))
    console = Console(no_color=no_color, highlight=False)
    Recap(console, no_color=no_color, hosts="all", secrets=secrets).write(outcome)


def _source(report: Path) -> tuple[int, int]:
    try:
        st = report.stat()
    except FileNotFoundError:
        raise BadOptions(
            f"{report}: no such file; name a JSON report of acmerun or a run id "
            "(`acmerun history` lists them)"
        ) from None
    except OSError as exc:
        raise BadOptions(f"{report}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadOptions(f"{report}: not a regular file; name a JSON report of acmerun")
    return (st.st_dev, st.st_ino)
