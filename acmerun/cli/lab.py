"""``acmerun lab serve``: run the AcmeOS lab in the foreground.

The main ``acmerun`` command adds the ``lab`` group; ``python -m acmerun.lab
ARGS`` is ``acmerun lab ARGS`` (``main()``), inside the same error boundary:
the same ``acmerun: error: ...`` line and exit code. Importing this module is
cheap: aiohttp and the lab itself are imported when ``serve`` runs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from acmerun.acmeos.defaults import FACTORY_PASSWORD, FACTORY_USERNAME
from acmerun.errors import ExitCode

#: the environment variable ``--password`` is read from when not given
PASSWORD_ENV = "ACMEOS_LAB_PASSWORD"
#: how the lab's own lines on stderr start
PROG = "acmerun lab"
#: the logger the lab says what goes wrong to while it serves
LAB_LOGGER = "acmerun.lab"


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
    help="How long a device is down after an install or a reboot.",
)
@click.option(
    "--post-upgrade-fault",
    multiple=True,
    metavar="GLOB",
    help="Devices that come back from an upgrade with a link and a session down (repeatable).",
)
@click.option(
    "--post-upgrade-fault-rate",
    type=float,
    default=0.0,
    metavar="P",
    help="Share of devices that come back from an upgrade with a link and a session down.",
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
    post_upgrade_fault: Sequence[str],
    post_upgrade_fault_rate: float,
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
        post_upgrade_fault=tuple(post_upgrade_fault),
        post_upgrade_fault_rate=post_upgrade_fault_rate,
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

    with lab_records_on_stderr():
        Lab(config).serve_forever(on_ready=ready)


def main(args: Sequence[str] | None = None) -> NoReturn:
    """``python -m acmerun.lab ARGS``: run ``acmerun lab ARGS`` (the one error boundary)."""
    from acmerun.cli import cli

    argv = list(sys.argv[1:] if args is None else args)
    cli.main(args=["lab", *argv], prog_name="acmerun")
    raise SystemExit(int(ExitCode.UNEXPECTED))  # pragma: no cover - cli.main always exits


class LabLineFormatter(logging.Formatter):
    """The lab's records as its lines on stderr: ``acmerun lab: [error: ]MESSAGE``."""

    def format(self, record: logging.LogRecord) -> str:
        kind = "error: " if record.levelno >= logging.ERROR else ""
        return f"{PROG}: {kind}{record.getMessage()}"


@contextmanager
def lab_records_on_stderr() -> Iterator[None]:
    """While the lab serves in the foreground, what it logs is printed on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LabLineFormatter())
    logger = logging.getLogger(LAB_LOGGER)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
