"""``acmerun run RUNBOOK`` (also ``acmerun RUNBOOK``): the command-line options of a run."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

import click

from acmerun import DEFAULT_WORKERS
from acmerun.cli.boundary import CONTEXT
from acmerun.defaults import DEFAULT_AUTH_FAILURE_LIMIT, MAX_CONNECT_RATE
from acmerun.errors import BadOptions

if TYPE_CHECKING:
    from acmerun.session import RunOptions, RunResult


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t.strip() for v in values for t in v.split(",") if t.strip())


@click.command("run", context_settings=CONTEXT)
@click.argument("runbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-C", "--check", is_flag=True, help="Dry run: change nothing, report every would-be change."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="With --check: exit 6 when something would change (drift detection).",
)
@click.option(
    "-l",
    "--limit",
    metavar="PATTERN",
    help="Only these hosts: names, globs, groups (sites), !exclusions, @FILE; ',' or ':' between.",
)
@click.option(
    "-e",
    "--extra-vars",
    "extra_vars",
    multiple=True,
    metavar="KEY=VALUE|@FILE|JSON",
    help="Set variables, over every other source. Repeatable; later ones win.",
)
@click.option(
    "-t",
    "--tags",
    multiple=True,
    metavar="TAGS",
    help="Only steps with one of these tags (comma-separated, repeatable).",
)
@click.option(
    "--skip-tags",
    multiple=True,
    metavar="TAGS",
    help="Leave out steps with one of these tags (comma-separated, repeatable).",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Hosts in flight at once [default: the runbook's strategy.workers, the config's "
    f"workers, else {DEFAULT_WORKERS}].",
)
@click.option(
    "--auth-failure-limit",
    type=click.IntRange(min=0),
    metavar="N",
    help="Start no new host once N devices refused the credentials (0: no limit) "
    f"[default: the runbook's strategy.auth_failure_limit, the config's, else "
    f"{DEFAULT_AUTH_FAILURE_LIMIT}].",
)
@click.option(
    "--connect-rate",
    type=click.IntRange(min=1, max=MAX_CONNECT_RATE),
    metavar="N",
    help="At most N new device sessions (logins) per second across the run, whatever the "
    "workers [default: the runbook's strategy.connect_rate, the config's, else no limit].",
)
@click.option("--list-hosts", is_flag=True, help="Print the hosts the run would touch, and exit.")
@click.option("--list-steps", is_flag=True, help="Print the steps the run would take, and exit.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the JSON report to FILE (atomically).",
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
    help="Write a JUnit XML report to FILE (one testcase per host and step).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the HTML report to FILE: summary, timeline, failures, hosts (one file, no script).",
)
@click.option(
    "--events",
    "events",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="Write the run's events to FILE as they happen, one JSON object a line ('-': to "
    "stdout; the recap and all other output then go to stderr).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print nothing when every host is ok or changed; the recap otherwise (for cron).",
)
@click.option(
    "-v",
    "--verbose",
    "verbosity",
    count=True,
    help="Print every step's status and duration as its host is done; -vv also its result.",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Append acmerun's and nornir's logs to FILE (no log is written otherwise).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Configuration file [default: $ACMERUN_CONFIG, else ~/.config/acmerun/config.yml].",
)
@click.option(
    "--no-color", is_flag=True, help="No colors (also when stdout is not a terminal, or $NO_COLOR)."
)
@click.option(
    "--wait-lock",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Wait up to SECONDS for another run of this runbook to end [default: exit 7 at once].",
)
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Run on a Dask cluster: a scheduler (tcp://HOST:8786), or local:N for N local worker "
    "processes (needs acmerun[distributed]).",
)
@click.option(
    "--shard-by",
    default="site",
    show_default=True,
    metavar="KEY",
    help="With --cluster: the host-data key that splits the hosts into shards.",
)
@click.option(
    "--lab",
    is_flag=True,
    help="Run against the embedded lab (a simulated fleet on loopback), whatever inventory is "
    "configured. Without an inventory configured, this is needed unless at a terminal.",
)
@click.option(
    "--rerun-failed",
    "rerun_failed",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[RUN_ID]",
    help="Only the hosts that failed or were unreachable in that recorded run [default: this "
    "runbook's last]; with --limit, those of them it selects.",
)
@click.option(
    "--history",
    "history_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The run history (SQLite) [default: $ACMERUN_HISTORY, else the state dir's "
    "history.sqlite].",
)
@click.option("--no-history", is_flag=True, help="Record nothing in the run history.")
def run_command(
    runbook: Path,
    check: bool,
    detailed_exitcode: bool,
    limit: str | None,
    extra_vars: tuple[str, ...],
    tags: tuple[str, ...],
    skip_tags: tuple[str, ...],
    workers: int | None,
    auth_failure_limit: int | None,
    connect_rate: int | None,
    list_hosts: bool,
    list_steps: bool,
    report: Path | None,
    report_dir: Path | None,
    junit: Path | None,
    html_file: Path | None,
    events: Path | None,
    quiet: bool,
    verbosity: int,
    log_file: Path | None,
    config_file: Path | None,
    no_color: bool,
    wait_lock: float,
    cluster: str | None,
    shard_by: str,
    lab: bool,
    rerun_failed: str | None,
    history_file: Path | None,
    no_history: bool,
) -> int:
    """Run RUNBOOK against its inventory (`acmerun RUNBOOK` is the same).

    Exit codes: 0 every host ok or changed, 2 a host failed, 3 a host
    unreachable, 4 runbook invalid, 5 bad options, 6 changes pending (--check
    --detailed-exitcode), 7 runbook locked by another run, 99 interrupted.
    """
    from acmerun.config import load_config
    from acmerun.extra_vars import parse_extra_vars
    from acmerun.secrets import Secrets
    from acmerun.session import Executor, RunOptions, execute
    from acmerun.session.runid import is_run_id

    if detailed_exitcode and not check:
        raise BadOptions("--detailed-exitcode only has a meaning with --check")
    if rerun_failed and not is_run_id(rerun_failed):
        raise BadOptions(
            f"--rerun-failed {rerun_failed}: not a run id (like 20261203T020000Z-3f9a1c2b); "
            "`acmerun history RUNBOOK` lists them"
        )
    if no_history and history_file is not None:
        raise BadOptions("--history and --no-history cannot be used together")
    if list_hosts and list_steps:
        raise BadOptions("--list-hosts and --list-steps cannot be used together")
    shard_by_given = click.get_current_context().get_parameter_source("shard_by")
    if cluster is None and shard_by_given is click.core.ParameterSource.COMMANDLINE:
        raise BadOptions("--shard-by only has a meaning with --cluster")
    executor: Executor | None = None
    if cluster is not None:
        from acmerun.distributed import parse_cluster, require_distributed

        address = parse_cluster(cluster)
        require_distributed()
        from acmerun.distributed.driver import ClusterExecutor
        from acmerun.session.local import live_lines

        executor = ClusterExecutor(address, shard_by, live=live_lines)
    secrets = click.get_current_context().find_object(Secrets) or Secrets.from_environment()
    config = load_config(config_file)
    secrets.add(config.password)
    options = RunOptions(
        runbook=runbook,
        check=check,
        detailed_exitcode=detailed_exitcode,
        limit=limit,
        extra_vars=parse_extra_vars(extra_vars),
        tags=_split(tags),
        skip_tags=_split(skip_tags),
        workers=workers,
        auth_failure_limit=auth_failure_limit,
        connect_rate=connect_rate,
        list_hosts=list_hosts,
        list_steps=list_steps,
        report=report,
        report_dir=report_dir,
        junit=junit,
        html=html_file,
        events=events,
        quiet=quiet,
        verbosity=verbosity,
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        log_file=log_file,
        config=config,
        wait_lock=wait_lock,
        cluster=cluster,
        shard_by=shard_by,
        lab=lab,
        history=history_file,
        no_history=no_history,
        rerun_failed=rerun_failed,
        secrets=secrets,
    )
    return finish(execute(options, out=output_of(options), executor=executor))


def output_of(options: RunOptions) -> TextIO:
    """Where the run's recap and lines go: stdout, or stderr when the events go to stdout."""
    from acmerun.journal.log import STDOUT

    return sys.stderr if options.events == STDOUT else sys.stdout


def finish(result: RunResult) -> int:
    """The exit code of a run; at once when hosts were abandoned in flight."""
    if result.abandoned:
        _exit_now(result.exit_code)
    return result.exit_code


def _exit_now(code: int) -> NoReturn:
    """Exit without waiting for the worker threads of hosts still in flight."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
