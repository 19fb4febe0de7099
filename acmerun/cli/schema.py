"""``acmerun schema``: the runbook JSON Schema, for editors and yaml-language-server."""

from __future__ import annotations

import json
from pathlib import Path

import click

from acmerun.cli.boundary import CONTEXT
from acmerun.errors import BadOptions, ExitCode


@click.command("schema", context_settings=CONTEXT)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the schema to this file (replaced whole) instead of stdout.",
)
def schema_command(output: Path | None) -> int:
    """Print the runbook JSON Schema, or write it to --output PATH.

    Point an editor at it with a first line in the runbook:
    # yaml-language-server: $schema=PATH
    """
    from acmerun.report.atomic import write_atomic
    from acmerun.runbook.loader import schema

    text = json.dumps(schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return int(ExitCode.OK)
    try:
        write_atomic(output, text)
    except OSError as exc:
        raise BadOptions(f"cannot write {output}: {exc.strerror or exc}") from None
    return int(ExitCode.OK)
