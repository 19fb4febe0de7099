"""``acmerun history [RUNBOOK]``: the runs recorded, newest first, one line each (or JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from acmerun.cli.boundary import CONTEXT
from acmerun.errors import BadOptions, ExitCode

if TYPE_CHECKING:
    from acmerun.history import RunEntry


@click.command("history", context_settings=CONTEXT)
@click.argument("runbook", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--since",
    metavar="WHEN",
    help="Only runs started since WHEN: 24h, 7d, 30m, 2w back from now, or an ISO date or "
    "time (2026-12-01, 2026-12-01T02:00Z; UTC without a zone).",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=1),
    metavar="N",
    help="At most N runs (the newest).",
)
@click.option("--failed", is_flag=True, help="Only runs that did not exit 0 (or 6).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, newest run first.")
@click.option(
    "--history",
    "history_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The run history [default: $ACMERUN_HISTORY, else the state dir's history.sqlite].",
)
def history_command(
    runbook: Path | None,
    since: str | None,
    limit: int | None,
    failed: bool,
    as_json: bool,
    history_file: Path | None,
) -> int:
    """List the recorded runs (of RUNBOOK, if given), newest first.

    One line a run: its id, start (UTC), runbook, exit code and host totals.
    `acmerun show RUN_ID` prints one of them again.
    """
    from acmerun.history import History, parse_since
    from acmerun.history.entry import runbook_key
    from acmerun.secrets import printable
    from acmerun.session.history import history_path

    moment = None
    if since is not None:
        try:
            moment = parse_since(since)
        except ValueError as exc:
            raise BadOptions(f"--since {exc}") from None
    path = history_path(history_file)
    assert path is not None
    entries: list[RunEntry] = []
    if path.exists():
        with History.open(path, write=False) as history:
            entries = history.runs(
                runbook_key=runbook_key(runbook) if runbook is not None else None,
                since=moment,
                limit=limit,
                failed=failed,
            )
    if as_json:
        click.echo(json.dumps([e.summary() for e in entries], indent=2, ensure_ascii=True))
        return int(ExitCode.OK)
    if not entries:
        click.echo(_nothing(path, runbook, since, failed))
        return int(ExitCode.OK)
    for entry in entries:
        click.echo(printable(line(entry)))
    return int(ExitCode.OK)


def line(entry: RunEntry) -> str:
    """``ID  START  RUNBOOK  exit N  HOSTS hosts: n ok, n failed...``."""
    total = sum(entry.totals.values())
    counts = ", ".join(f"{n} {status}" for status, n in entry.totals.items() if n)
    started = entry.started.replace("T", " ")[:19] + "Z"
    marks = (("check", entry.check), ("interrupted", entry.interrupted))
    flags = "".join(f"  {flag}" for flag, on in marks if on)
    hosts = f"{total} host{'s' if total != 1 else ''}" + (f": {counts}" if counts else "")
    return f"{entry.run_id}  {started}  {entry.runbook}  exit {entry.exit_code}  {hosts}{flags}"


def _nothing(path: Path, runbook: Path | None, since: str | None, failed: bool) -> str:
    if not path.exists():
        return f"no run recorded yet (no history at {path})"
    what = "no failed run" if failed else "no run"
    of = f" of {runbook}" if runbook is not None else ""
    when = f" since {since}" if since is not None else ""
    return f"{what}{of}{when} recorded in {path}"
