"""``acmerun lab serve``: run the AcmeOS lab in the foreground.

The main ``acmerun`` command adds the ``lab`` group; ``python -m
acmerun.lab`` runs it on its own through ``main()``. Importing this
module is cheap: aiohttp and the lab itself are imported when ``serve`` runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from acmerun.acmeos.defaults import FACTORY_PASSWORD, FACTORY_USERNAME
from acmerun.errors import AcmerunError, ExitCode

#: the environment variable ``--password`` is read from when not given
PASSWORD_ENV = "ACMEOS_LAB_PASSWORD"
PROG = "acmerun lab"


def parse_latency(text: str) -> tuple[float, float]:
    """``"MIN:MAX"`` or ``"MS"`` milliseconds -> ``(MIN, MAX)``; raises ``BadParameter``."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            low = high = float(parts[0])
        elif len(parts) == 2:
            low, high = float(parts[0]), float(parts[1])
        else:
            raise ValueError(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not MIN:MAX milliseconds (e.g. 5:20) or one number (e.g. 10)"
        ) from None
    return low, high


def _latency(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    return None if value is None else parse_latency(value)


@click.group(name="lab")
def lab() -> None:
    """Run the AcmeOS lab: a simulated fleet of AcmeOS devices on loopback."""


@lab.command(name="serve")
@click.option("--sites", type=int, default=8, show_default=True, help="Number of sites.")
@click.option(
    "--site",
    "site_list",
    multiple=True,
    metavar="NAME",
    help="A site to serve, by name (repeatable; replaces --sites).",
)
@click.option("--leaves", type=int, default=100, show_default=True, help="Leaf devices per site.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Inventory API address.")
@click.option(
    "--port", type=int, default=0, show_default=True, help="Inventory API port (0: a free one)."
)
@click.option(
    "--state",
    "state_file",
    metavar="FILE",
    help="Keep device state (versions) in FILE across restarts.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fleet's data.")
@click.option(
    "--latency-ms",
    metavar="MIN:MAX",
    callback=_latency,
    help="Latency added to every device call, in milliseconds (or one number).",
)
@click.option(
    "--error-rate",
    type=float,
    default=0.0,
    metavar="P",
    help="Probability that a device call fails with a reset connection.",
)
@click.option("--dead", multiple=True, metavar="GLOB", help="Devices that are powered off.")
@click.option("--slow", multiple=True, metavar="GLOB", help="Devices that answer after an hour.")
@click.option(
    "--stuck", multiple=True, metavar="GLOB", help="Devices that never come back from a reboot."
)
@click.option(
    "--install-failure-rate",
    type=float,
    default=0.0,
    metavar="P",
    help="Probability that an install fails.",
)
@click.option(
    "--install-seconds", type=float, default=0.0, metavar="S", help="How long an install takes."
)
@click.option(
    "--reboot-seconds",
    type=float,
    default=0.0,
    metavar="S",
    help="How long a device is down after an install.",
)
@click.option(
    "--username", default=FACTORY_USERNAME, show_default=True, help="Username devices accept."
)
@click.option(
    "--password",
    envvar=PASSWORD_ENV,
    default=FACTORY_PASSWORD,
    show_default=False,
    show_envvar=True,
    help="Password devices accept (default: the factory password).",
)
def serve(
    sites: int,
    site_list: Sequence[str],
    leaves: int,
    host: str,
    port: int,
    state_file: str | None,
    seed: int,
    latency_ms: tuple[float, float] | None,
    error_rate: float,
    dead: Sequence[str],
    slow: Sequence[str],
    stuck: Sequence[str],
    install_failure_rate: float,
    install_seconds: float,
    reboot_seconds: float,
    username: str,
    password: str,
) -> None:
    """Serve a simulated AcmeOS fleet until SIGTERM or Ctrl-C.

    Prints one line, ``inventory: URL``, once every device listens.
    """
    from acmerun.lab.config import LabConfig
    from acmerun.lab.server import Lab

    config = LabConfig(
        sites=list(site_list) if site_list else sites,
        leaves=leaves,
        seed=seed,
        state_file=state_file,
        host=host,
        port=port,
        latency_ms=latency_ms or (0.0, 0.0),
        error_rate=error_rate,
        dead=tuple(dead),
        slow=tuple(slow),
        stuck=tuple(stuck),
        install_failure_rate=install_failure_rate,
        install_seconds=install_seconds,
        reboot_seconds=reboot_seconds,
        username=username,
        password=password,
    )

    def ready(running: Lab) -> None:
        sites = _count(len(config.site_names), "site")
        click.echo(
            f"{PROG}: serving {config.device_count} devices in {sites}"
            + (f", state in {state_file}" if state_file else ""),
            err=True,
        )
        sys.stdout.write(f"inventory: {running.url}\n")
        sys.stdout.flush()

    Lab(config).serve_forever(on_ready=ready)


def main(args: Sequence[str] | None = None) -> None:
    """Run the ``lab`` group as a program: one error line and exit code 5 on bad options."""
    try:
        lab.main(args=args, prog_name=PROG, standalone_mode=False)
    except AcmerunError as exc:
        _fail(str(exc), int(exc.exit_code))
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help(), err=True)
        sys.exit(int(ExitCode.BAD_OPTIONS))
    except click.UsageError as exc:
        _fail(exc.format_message(), int(ExitCode.BAD_OPTIONS))
    except click.exceptions.Abort:
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.ClickException as exc:
        _fail(exc.format_message(), int(ExitCode.BAD_OPTIONS))
    sys.exit(0)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _fail(message: str, code: int) -> None:
    for line in message.splitlines() or [""]:
        click.echo(f"{PROG}: error: {line}", err=True)
        break
    sys.exit(code)
