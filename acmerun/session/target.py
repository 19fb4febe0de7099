"""What a run targets: the inventory plugin and service, said plainly on the run's first line.

With the ``ACMEInventory`` plugin, the inventory service is the first of the
settings table's ``inventory_url`` sources. When none is configured, the embedded
lab (the simulated fleet) is the target only when asked for (``--lab``) or when a
person runs acmerun at a terminal (its standard input or output is one); a cron
job or a script gets exit 5 saying what to configure, never a silent run against
the simulator.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from acmerun.acmeos.defaults import (
    FACTORY_PASSWORD,
    FACTORY_USERNAME,
    INVENTORY_URL_ENV,
    USERNAME_ENV,
)
from acmerun.defaults import INVENTORY_PLUGIN
from acmerun.errors import BadOptions
from acmerun.outcome import NotRun
from acmerun.runbook.model import Runbook
from acmerun.session.options import RunOptions
from acmerun.session.record import Credentials, InventorySource, PreparedRun
from acmerun.settings import SETTINGS, Inputs, resolve


def settings_inputs(runbook: Runbook, options: RunOptions) -> Inputs:
    """What the settings table reads for this run."""
    return Inputs(
        options={
            "workers": options.workers,
            "report_dir": options.report_dir,
            "auth_failure_limit": options.auth_failure_limit,
            "connect_rate": options.connect_rate,
        },
        inventory_options=runbook.inventory.options,
        runbook_workers=runbook.strategy.workers,
        runbook_auth_failure_limit=runbook.strategy.auth_failure_limit,
        runbook_connect_rate=runbook.strategy.connect_rate,
        environ=os.environ,
        config=options.config,
    )


def interactive(options: RunOptions) -> bool:
    """True when a person runs acmerun at a terminal (its input or output is one)."""
    if options.interactive is not None:
        return options.interactive
    try:
        return sys.stdin.isatty() or sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def inventory_source(runbook: Runbook, options: RunOptions) -> InventorySource:
    """The inventory plugin and its options, the service resolved; the embedded lab started."""
    spec = runbook.inventory
    inventory = dict(spec.options)
    if spec.plugin != INVENTORY_PLUGIN:
        if options.lab:
            raise BadOptions(
                f"--lab targets the embedded lab through {INVENTORY_PLUGIN}; "
                f"{runbook.path} uses the inventory plugin {spec.plugin}"
            )
        return InventorySource(spec.plugin, inventory)
    url = resolve("inventory_url", settings_inputs(runbook, options)).value
    if url is not None and not options.lab:
        inventory["url"] = url
        return InventorySource(spec.plugin, inventory)
    if not (options.lab or interactive(options)):
        sources = ", ".join(s.label for s in SETTINGS["inventory_url"])
        raise BadOptions(
            f"no inventory service configured ({sources}): set {INVENTORY_URL_ENV} or the "
            "config file's inventory.url to use real devices, or pass --lab to run against "
            "the simulated lab"
        )
    from acmerun.plugins.inventory.embedded import start_embedded_lab

    try:
        inventory["url"] = start_embedded_lab().url
    except BadOptions:
        raise
    except Exception as exc:
        raise BadOptions(f"cannot start the embedded lab: {exc}") from exc
    return InventorySource(spec.plugin, inventory, embedded=True)


def credentials(runbook: Runbook, options: RunOptions, source: InventorySource) -> Credentials:
    """What hosts log in with where the inventory gives nothing (the lab's own when embedded)."""
    if source.embedded:
        return Credentials(FACTORY_USERNAME, FACTORY_PASSWORD)
    inputs = settings_inputs(runbook, options)
    return Credentials(resolve("username", inputs).value, resolve("password", inputs).value)


def credentials_to_check(run: PreparedRun, reason: NotRun) -> str:
    """The summary line of a run the authentication-failure limit stopped: the username
    the refusing devices were given and where it and the password come from (never the
    password)."""
    host = run.nornir.inventory.hosts.get(reason.host or "")
    username = host.username if host is not None else run.credentials.username
    if run.inventory.embedded:
        where = "the embedded lab's factory credentials"
    elif not username or username != run.credentials.username:
        where = "username and password from the inventory"
    else:
        inputs = settings_inputs(run.runbook, run.options)
        user_from = resolve("username", inputs).source
        password_from = resolve("password", inputs).source or "the inventory"
        where = f"username from {user_from}, password from {password_from}"
    username = username or os.environ.get(USERNAME_ENV) or FACTORY_USERNAME
    return (
        f"{reason.failed} devices refused the credentials (auth_failure_limit "
        f"{reason.limit or 0:g}): no new host started; check user {username!r} ({where})"
    )


def describe(source: InventorySource) -> str:
    """The first line of a run: the inventory, and plainly so when it is the simulated lab."""
    if source.plugin != INVENTORY_PLUGIN:
        return f"target: inventory plugin {source.plugin}"
    if source.embedded:
        return (
            f"target: embedded AcmeOS lab (simulated devices on loopback; state in {_lab_state()})"
        )
    from acmerun.acmeos.transport import masked

    url: Any = source.options.get("url")
    return f"target: inventory {','.join(masked(u) for u in str(url).split(','))}"


def stop_embedded_lab(source: InventorySource) -> None:
    """Stop the embedded lab this run started (it lives for the length of a run)."""
    if not source.embedded:
        return
    from acmerun.plugins.inventory.embedded import stop_embedded_lab as stop

    stop()


def _lab_state() -> str:
    from acmerun import paths
    from acmerun.plugins.inventory.embedded import STATE_FILE

    path = str(paths.state_dir() / STATE_FILE)
    home = str(Path.home())
    return "~" + path[len(home) :] if path.startswith(home + os.sep) else path
