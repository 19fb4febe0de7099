"""``acmerun plan RUNBOOK`` and ``acmerun apply PLAN``: the command-line options."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from acmerun.cli.boundary import CONTEXT

F = TypeVar("F", bound=Callable[..., Any])


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t.strip() for v in values for t in v.split(",") if t.strip())


def _shaping(fn: F) -> F:
    """The options that shape the run: recorded in the plan, checked by apply."""
    for option in reversed(
        [
            click.option(
                "-l",
                "--limit",
                metavar="PATTERN",
                help="Only these hosts: names, globs, groups (sites), !exclusions, @FILE.",
            ),
            click.option(
                "-e",
                "--extra-vars",
                "extra_vars",
                multiple=True,
                metavar="KEY=VALUE|@FILE|JSON",
                help="Set variables, over every other source. Repeatable; later ones win.",
            ),
            click.option(
                "-t", "--tags", multiple=True, metavar="TAGS", help="Only steps with these tags."
            ),
            click.option(
                "--skip-tags",
                multiple=True,
                metavar="TAGS",
                help="Leave out steps with these tags.",
            ),
            click.option(
                "--lab",
                is_flag=True,
                help="Target the embedded lab (a simulated fleet on loopback).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _running(fn: F) -> F:
    """The options of how the run is done: not part of the plan."""
    for option in reversed(
        [
            click.option(
                "-w", "--workers", type=click.IntRange(min=1), metavar="N", help="Hosts in flight."
            ),
            click.option(
                "--auth-failure-limit",
                type=click.IntRange(min=0),
                metavar="N",
                help="Start no new host once N devices refused the credentials (0: no limit).",
            ),
            click.option(
                "-v",
                "--verbose",
                "verbosity",
                count=True,
                help="Print every step as its host is done.",
            ),
            click.option(
                "--log-file",
                type=click.Path(dir_okay=False, path_type=Path),
                metavar="FILE",
                help="Append acmerun's and nornir's logs to FILE.",
            ),
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False, path_type=Path),
                metavar="FILE",
                help="Configuration file [default: $ACMERUN_CONFIG, else "
                "~/.config/acmerun/config.yml].",
            ),
            click.option("--no-color", is_flag=True, help="No colors."),
            click.option(
                "--wait-lock",
                type=click.FloatRange(min=0),
                default=0.0,
                metavar="SECONDS",
                help="Wait up to SECONDS for another run of this runbook to end [default: exit 7].",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _ended(result: Any) -> int:
    """The exit code; after a second signal, exit now (hosts may still be in flight)."""
    if result.abandoned:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(result.exit_code)
    return int(result.exit_code)


def _base(runbook: Path, **kw: Any) -> Any:
    """A RunOptions with the options every plan and apply take."""
    from acmerun.config import load_config
    from acmerun.secrets import Secrets
    from acmerun.session import RunOptions

    secrets = click.get_current_context().find_object(Secrets) or Secrets.from_environment()
    config = load_config(kw.pop("config_file"))
    secrets.add(config.password)
    return RunOptions(
        runbook=runbook,
        config=config,
        secrets=secrets,
        no_color=kw.pop("no_color") or bool(os.environ.get("NO_COLOR")),
        **kw,
    )


@click.command("plan", context_settings=CONTEXT)
@click.argument("runbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PLAN",
    help="Write the plan to PLAN [default: RUNBOOK-STEM-YYYYMMDDTHHMMSSZ.plan.json here].",
)
@_shaping
@_running
def plan_command(
    runbook: Path,
    output: Path | None,
    limit: str | None,
    extra_vars: tuple[str, ...],
    tags: tuple[str, ...],
    skip_tags: tuple[str, ...],
    lab: bool,
    **running: Any,
) -> int:
    """Plan RUNBOOK: run it in check mode and write what would change to a plan file.

    Exit codes: 0 nothing would change, 6 changes pending, 2 a host failed, 3 a host
    unreachable (they are in the plan as not planned), 4 runbook invalid, 5 bad
    options, 7 runbook locked, 99 interrupted (no plan written).
    """
    from acmerun.extra_vars import parse_extra_vars
    from acmerun.plan.flow import make_plan

    options = _base(
        runbook,
        limit=limit,
        extra_vars=parse_extra_vars(extra_vars),
        tags=_split(tags),
        skip_tags=_split(skip_tags),
        lab=lab,
        progress=sys.stdout.isatty(),
        **running,
    )
    return _ended(make_plan(options, output))


@click.command("apply", context_settings=CONTEXT)
@click.argument("plan", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--max-plan-age",
    metavar="AGE",
    help="Refuse a plan older than AGE (90s, 30m, 1h, 2d) "
    "[default: $ACMERUN_PLAN_MAX_AGE, else 24h].",
)
@_shaping
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
    help="Write the JSON and HTML reports to new timestamped files in DIR.",
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
    "-q",
    "--quiet",
    is_flag=True,
    help="Print nothing when every host is ok or changed; the recap otherwise.",
)
@_running
def apply_command(
    plan: Path,
    max_plan_age: str | None,
    limit: str | None,
    extra_vars: tuple[str, ...],
    tags: tuple[str, ...],
    skip_tags: tuple[str, ...],
    lab: bool,
    html_file: Path | None,
    **running: Any,
) -> int:
    """Apply PLAN: run its runbook with its options on its hosts with changes pending.

    Options that shape the run (-l, -e, -t, --skip-tags, --lab) may be given: each
    must be the plan's. A secret -e of the plan must be given again. A device whose
    state changed since the plan is not touched (skipped).

    Exit codes: as a run (0, 2, 3, 7, 99); 5 PLAN is not a plan; 8 refused: the
    runbook, the options or the plan's age no longer match (nothing was run).
    """
    from acmerun.extra_vars import parse_extra_vars
    from acmerun.plan.flow import apply_plan

    given = {
        "limit": limit,
        "extra_vars": parse_extra_vars(extra_vars),
        "tags": _split(tags),
        "skip_tags": _split(skip_tags),
        "lab": lab,
    }
    options = _base(plan, html=html_file, **running)
    return _ended(apply_plan(plan, given, options, max_plan_age))
