"""``acmerun resume [RUN_ID | RUNBOOK]``: continue a run that died, from its journal."""

from __future__ import annotations

import os
from pathlib import Path

import click

from acmerun.cli.boundary import CONTEXT
from acmerun.cli.run import finish, output_of


@click.command("resume", context_settings=CONTEXT)
@click.argument("which", required=False, metavar="[RUN_ID | RUNBOOK]")
@click.option(
    "-e",
    "--extra-vars",
    "extra_vars",
    multiple=True,
    metavar="KEY=VALUE|@FILE|JSON",
    help="A secret -e value of the run, given again (the journal keeps it masked).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the JSON report (every host of the run) to FILE.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write the JSON report to a new timestamped file in DIR.",
)
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write a JUnit XML report to FILE.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the HTML report to FILE.",
)
@click.option(
    "--events",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="Write the resumed run's events to FILE ('-': to stdout, the rest to stderr).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when every host is ok or changed.")
@click.option("-v", "--verbose", "verbosity", count=True, help="Every step's status (-vv: result).")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Append acmerun's and nornir's logs to FILE.",
)
@click.option("--no-color", is_flag=True, help="No colors.")
@click.option(
    "--wait-lock",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Wait up to SECONDS for another run of the runbook to end [default: exit 7].",
)
def resume_command(
    which: str | None,
    extra_vars: tuple[str, ...],
    report: Path | None,
    report_dir: Path | None,
    junit: Path | None,
    html_file: Path | None,
    events: Path | None,
    quiet: bool,
    verbosity: int,
    log_file: Path | None,
    no_color: bool,
    wait_lock: float,
) -> int:
    """Continue a run that died (kill -9, a reboot) or was interrupted, from its journal.

    RUN_ID names the run; a RUNBOOK path, its newest unfinished run; neither, the
    newest unfinished run. Hosts the run finished are kept as they ended; devices
    in flight when it died are waited for until they answer, then run again; the
    others run. Same runbook, options and hosts, or it is refused.

    Exit codes: as a run; 5 no journal of RUN_ID; 8 refused (the run finished, its
    runbook or hosts changed, or no unfinished run), nothing was run.
    """
    from acmerun.extra_vars import parse_extra_vars
    from acmerun.journal.resume import options_from
    from acmerun.journal.state import find_run
    from acmerun.secrets import Secrets
    from acmerun.session import Executor, execute
    from acmerun.session.runid import is_run_id

    run_id = which if which is not None and is_run_id(which) else None
    runbook = Path(which) if which is not None and run_id is None else None
    if runbook is not None and not runbook.is_file():
        from acmerun.errors import BadOptions

        raise BadOptions(f"{which}: neither a run id nor a runbook file")
    state = find_run(run_id, runbook)
    secrets = click.get_current_context().find_object(Secrets) or Secrets.from_environment()
    options = options_from(
        state,
        parse_extra_vars(extra_vars),
        secrets,
        report=report,
        report_dir=report_dir,
        junit=junit,
        html=html_file,
        events=events,
        quiet=quiet,
        verbosity=verbosity,
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        log_file=log_file,
        wait_lock=wait_lock,
    )
    executor: Executor | None = None
    if options.cluster is not None:
        from acmerun.distributed import parse_cluster, require_distributed

        address = parse_cluster(options.cluster)
        require_distributed()
        from acmerun.distributed.driver import ClusterExecutor

        executor = ClusterExecutor(address, options.shard_by)
    return finish(execute(options, out=output_of(options), executor=executor))
