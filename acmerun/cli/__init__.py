"""The ``acmerun`` command: its group, ``validate`` and ``schema``.

``acmerun RUNBOOK [options]`` is ``acmerun run RUNBOOK [options]`` (``cli/run.py``);
``acmerun lab serve`` is ``cli/lab.py``; ``acmerun show`` is ``cli/show.py``; ``acmerun
history`` is ``cli/history.py``. Every
command runs inside the one error boundary (``cli/boundary.py``): an expected error
is one line and its documented exit code, a bug is one line naming its crash log
and exit 250.

Start-up is kept fast (``--help`` and ``validate`` are run by editors and
pre-commit): nornir, rich, jinja2 and aiohttp are imported inside the commands
that need them, never here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
from click.shell_completion import CompletionItem

from acmerun import __version__
from acmerun.cli.boundary import CONTEXT, error_line, exit_with, run_guarded
from acmerun.cli.run import run_command
from acmerun.cli.schema import schema_command
from acmerun.errors import BadOptions, ExitCode
from acmerun.secrets import Secrets

#: commands whose module is imported only when they run: name -> (module, attribute, help)
_LAZY_COMMANDS = {
    "lab": ("acmerun.cli.lab", "lab", "Run the AcmeOS lab: a simulated fleet on loopback."),
    "history": ("acmerun.cli.history", "history_command", "List the runs recorded, newest first."),
    "show": ("acmerun.cli.show", "show", "Show a past run (a run id or a JSON report)."),
    "plan": (
        "acmerun.cli.plan",
        "plan_command",
        "Write what a runbook would change to a plan file.",
    ),
    "apply": (
        "acmerun.cli.plan",
        "apply_command",
        "Apply a plan: exactly its changes, on its hosts.",
    ),
    "resume": (
        "acmerun.cli.resume",
        "resume_command",
        "Continue a run that died, from its journal.",
    ),
}


class AcmerunGroup(click.Group):
    """A group that runs ``run`` when the first argument is not a command, and owns errors."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.list_commands(ctx) and args[0] not in _GROUP_OPTIONS:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Commands, and files: a first word that is not a command is a runbook path."""
        items = super().shell_complete(ctx, incomplete)
        if not incomplete.startswith("-"):
            items.append(CompletionItem(incomplete, type="file"))
        return items

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
        secrets = extra.pop("obj", None)
        if not isinstance(secrets, Secrets):
            secrets = Secrets.from_environment()
        code = run_guarded(
            lambda: super(AcmerunGroup, self).main(
                args,
                prog_name or "acmerun",
                complete_var,
                standalone_mode=False,
                obj=secrets,
                **extra,
            ),
            secrets,
        )
        if not standalone_mode:
            return code
        sys.exit(code)


_GROUP_OPTIONS = frozenset({"-h", "--help", "--version"})


@click.group("acmerun", cls=AcmerunGroup, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="acmerun", message="%(prog)s %(version)s")
def cli() -> None:
    """Run declarative runbooks against fleets of AcmeOS devices.

    \b
    acmerun RUNBOOK [OPTIONS]      is the same as  acmerun run RUNBOOK [OPTIONS]
    acmerun validate runbooks/     checks runbooks, every error with file:line:column

    Exit codes: 0 ok, 2 a host failed, 3 a host unreachable, 4 runbook invalid,
    5 bad options, 6 changes pending (--check --detailed-exitcode, plan), 7 runbook
    locked by another run, 8 refused (apply, resume), 99 interrupted, 250 unexpected error.
    """


@cli.command("validate", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-e",
    "--extra-vars",
    "extra_vars",
    multiple=True,
    metavar="KEY=VALUE|@FILE|JSON",
    help="Variables the run will be given: templates may read their names.",
)
def validate_command(paths: tuple[Path, ...], extra_vars: tuple[str, ...]) -> int:
    """Check runbooks (files, or folders searched for *.yml and *.yaml).

    Prints every error as FILE:LINE:COLUMN: PATH: message and exits 4 if any
    runbook is invalid; prints "N runbook(s) valid" and exits 0 otherwise.
    Usable as a pre-commit hook.
    """
    from acmerun.extra_vars import parse_extra_vars
    from acmerun.runbook.loader import validate_paths

    names = parse_extra_vars(extra_vars)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BadOptions(f"no such file or folder: {', '.join(missing)}")
    files, errors = validate_paths([str(p) for p in paths], names)
    checked = len(files)
    if checked == 0:
        raise BadOptions(f"no runbook (*.yml, *.yaml) in {', '.join(str(p) for p in paths)}")
    if errors:
        for line in errors:
            click.echo(line)
        n = len(errors)
        error_line(f"{n} error{'s' if n != 1 else ''} in {_runbooks(checked)} checked")
        return int(ExitCode.RUNBOOK_INVALID)
    click.echo(f"{_runbooks(checked)} valid")
    return int(ExitCode.OK)


def _runbooks(n: int) -> str:
    return f"{n} runbook{'s' if n != 1 else ''}"


cli.add_command(schema_command)
cli.add_command(run_command)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``acmerun`` console script."""
    code = cli.main(
        args=list(argv) if argv is not None else None, prog_name="acmerun", standalone_mode=False
    )
    exit_with(code)
