"""The ``acmerun`` command, and the one place where errors become messages and exit codes.

``acmerun RUNBOOK [options]`` is ``acmerun run RUNBOOK [options]``; the other
commands are ``validate``, ``schema`` and ``lab serve``. Every expected error
(``acmerun.errors``, a bad command line) is one line on stderr,
``acmerun: error: ...``, and its documented exit code; anything else is a bug:
one line naming the crash log that holds the traceback, and exit 250.

Start-up is kept fast (``--help`` and ``validate`` are run by editors and
pre-commit): nornir, rich, jinja2 and aiohttp are imported inside the commands
that need them, never here.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from acmerun import DEFAULT_WORKERS, __version__
from acmerun.errors import AcmerunError, BadOptions, ExitCode, RunbookInvalid

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: commands whose module is imported only when they run: name -> (module, attribute, help)
_LAZY_COMMANDS = {
    "lab": ("acmerun.cli.lab", "lab", "Run the AcmeOS lab: a simulated fleet on loopback."),
}


class AcmerunGroup(click.Group):
    """A group that runs ``run`` when the first argument is not a command, and owns errors."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.list_commands(ctx) and args[0] not in _GROUP_OPTIONS:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS and cmd_name not in self.commands:
            import importlib

            module, attribute, _ = _LAZY_COMMANDS[cmd_name]
            try:
                command = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError):
                return None
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit=70)))
            else:
                rows.append((name, _LAZY_COMMANDS[name][2]))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; every outcome, error or not, ends in a documented exit code."""
        _sigterm_interrupts()
        code = run_guarded(
            lambda: super(AcmerunGroup, self).main(
                args, prog_name or "acmerun", complete_var, standalone_mode=False, **extra
            )
        )
        if not standalone_mode:
            return code
        sys.exit(code)


_GROUP_OPTIONS = frozenset({"-h", "--help", "--version"})


def _sigterm_interrupts() -> None:
    """SIGTERM (kill, systemd, a shutdown) stops acmerun as Ctrl-C does: exit 99, not a kill."""
    import signal
    import threading

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def run_guarded(body: Any) -> int:
    """Call ``body()`` and turn what it returns or raises into an exit code (the error boundary)."""
    try:
        result = body()
    except RunbookInvalid as exc:
        for line in exc.errors:
            _error_line(line, prefix=False)
        n = len(exc.errors)
        _error_line(f"runbook invalid ({n} error{'s' if n != 1 else ''})")
        return int(exc.exit_code)
    except AcmerunError as exc:
        _error_line(str(exc))
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help(), err=True)
        return int(ExitCode.BAD_OPTIONS)
    except click.UsageError as exc:
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        _error_line(f"{exc.format_message()}{hint}")
        return int(ExitCode.BAD_OPTIONS)
    except click.ClickException as exc:
        _error_line(exc.format_message())
        return int(ExitCode.BAD_OPTIONS)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _error_line("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout()
        return int(ExitCode.OK)
    except Exception as exc:
        log = _write_crash_log()
        where = f"; the traceback is in {log}" if log else ""
        _error_line(f"unexpected error ({type(exc).__name__}){where}")
        return int(ExitCode.UNEXPECTED)
    if result is None:
        return int(ExitCode.OK)
    return int(result)


def _error_line(message: str, *, prefix: bool = True) -> None:
    from acmerun.config import known_secrets

    for secret in known_secrets():
        message = message.replace(secret, "********")
    with contextlib.suppress(OSError):
        click.echo(f"acmerun: error: {message}" if prefix else message, err=True)


def _write_crash_log() -> Path | None:
    from acmerun import paths
    from acmerun.config import known_secrets

    text = traceback.format_exc()
    for secret in known_secrets():
        text = text.replace(secret, "********")
    try:
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        path = paths.state_dir() / f"crash-{stamp}-{os.getpid()}.log"
        header = f"acmerun {__version__}, python {sys.version.split()[0]}\nargv: {sys.argv}\n\n"
        path.write_text(header + text, encoding="utf-8")
        return path
    except OSError:
        return None


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group("acmerun", cls=AcmerunGroup, context_settings=_CONTEXT)
@click.version_option(__version__, "--version", prog_name="acmerun", message="%(prog)s %(version)s")
def cli() -> None:
    """Run declarative runbooks against fleets of AcmeOS devices.

    \b
    acmerun RUNBOOK [OPTIONS]      is the same as  acmerun run RUNBOOK [OPTIONS]
    acmerun validate runbooks/     checks runbooks, every error with file:line:column

    Exit codes: 0 ok, 2 a host failed, 3 a host unreachable, 4 runbook invalid,
    5 bad options, 6 changes pending (--check --detailed-exitcode), 7 runbook
    locked by another run, 99 interrupted, 250 unexpected error.
    """


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t.strip() for v in values for t in v.split(",") if t.strip())


@cli.command("run", context_settings=_CONTEXT)
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
    "-q",
    "--quiet",
    is_flag=True,
    help="Print nothing when every host is ok or changed; the recap otherwise (for cron).",
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
def run_command(
    runbook: Path,
    check: bool,
    detailed_exitcode: bool,
    limit: str | None,
    extra_vars: tuple[str, ...],
    tags: tuple[str, ...],
    skip_tags: tuple[str, ...],
    workers: int | None,
    list_hosts: bool,
    list_steps: bool,
    report: Path | None,
    report_dir: Path | None,
    junit: Path | None,
    quiet: bool,
    log_file: Path | None,
    config_file: Path | None,
    no_color: bool,
    wait_lock: float,
    cluster: str | None,
    shard_by: str,
) -> int:
    """Run RUNBOOK against its inventory (`acmerun RUNBOOK` is the same).

    Exit codes: 0 every host ok or changed, 2 a host failed, 3 a host
    unreachable, 4 runbook invalid, 5 bad options, 6 changes pending (--check
    --detailed-exitcode), 7 runbook locked by another run, 99 interrupted.
    """
    from acmerun.config import load_config
    from acmerun.extra_vars import parse_extra_vars
    from acmerun.run import RunOptions, execute

    if detailed_exitcode and not check:
        raise BadOptions("--detailed-exitcode only has a meaning with --check")
    if list_hosts and list_steps:
        raise BadOptions("--list-hosts and --list-steps cannot be used together")
    if cluster is not None:
        from acmerun.distributed import parse_cluster, require_distributed

        parse_cluster(cluster)
        require_distributed()
    options = RunOptions(
        runbook=runbook,
        check=check,
        detailed_exitcode=detailed_exitcode,
        limit=limit,
        extra_vars=parse_extra_vars(extra_vars),
        tags=_split(tags),
        skip_tags=_split(skip_tags),
        workers=workers,
        list_hosts=list_hosts,
        list_steps=list_steps,
        report=report,
        report_dir=report_dir,
        junit=junit,
        quiet=quiet,
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        log_file=log_file,
        config=load_config(config_file),
        wait_lock=wait_lock,
        cluster=cluster,
        shard_by=shard_by,
    )
    result = execute(options)
    if result.abandoned:
        _exit_now(result.exit_code)
    return result.exit_code


def _exit_now(code: int) -> NoReturn:
    """Exit without waiting for the worker threads of hosts still in flight."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


@cli.command("validate", context_settings=_CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate_command(paths: tuple[Path, ...]) -> int:
    """Check runbooks (files, or folders searched for *.yml and *.yaml).

    Prints every error as FILE:LINE:COLUMN: PATH: message and exits 4 if any
    runbook is invalid; prints "N runbook(s) valid" and exits 0 otherwise.
    Usable as a pre-commit hook.
    """
    from acmerun.runbook.loader import validate_paths

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BadOptions(f"no such file or folder: {', '.join(missing)}")
    files, errors = validate_paths([str(p) for p in paths])
    checked = len(files)
    if checked == 0:
        raise BadOptions(f"no runbook (*.yml, *.yaml) in {', '.join(str(p) for p in paths)}")
    if errors:
        for line in errors:
            click.echo(line)
        n = len(errors)
        _error_line(f"{n} error{'s' if n != 1 else ''} in {_runbooks(checked)} checked")
        return int(ExitCode.RUNBOOK_INVALID)
    click.echo(f"{_runbooks(checked)} valid")
    return int(ExitCode.OK)


def _runbooks(n: int) -> str:
    return f"{n} runbook{'s' if n != 1 else ''}"


@cli.command("schema", context_settings=_CONTEXT)
def schema_command() -> int:
    """Print the runbook JSON Schema (for editors and yaml-language-server)."""
    import json

    from acmerun.runbook.loader import schema

    click.echo(json.dumps(schema(), indent=2))
    return int(ExitCode.OK)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``acmerun`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="acmerun")
    raise SystemExit(int(ExitCode.UNEXPECTED))  # pragma: no cover - cli.main always exits
