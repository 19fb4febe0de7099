"""nornir for a run: this package's plugins registered, the inventory read, hosts selected.

``init_nornir`` is also what a cluster worker calls to build its own nornir over a
shard, so a shard's hosts are read exactly as the run's are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from acmerun.defaults import CONNECTION_PLUGIN, INVENTORY_PLUGIN, RUNNER_PLUGIN
from acmerun.errors import BadOptions
from acmerun.secrets import Secrets
from acmerun.session.record import Credentials, InventorySource

if TYPE_CHECKING:
    from nornir.core import Nornir

    from acmerun.plugins.connections.rate import LoginRate
    from acmerun.runbook.compiler import CompiledRunbook
    from acmerun.runbook.model import Runbook
    from acmerun.stop import StopToken


def register_plugins() -> None:
    """The plugins of this package, registered even when its entry points are not installed."""
    from nornir.core.plugins.connections import ConnectionPluginRegister
    from nornir.core.plugins.inventory import InventoryPluginRegister
    from nornir.core.plugins.runners import RunnersPluginRegister

    from acmerun.plugins.connections.acmeos import AcmeOS
    from acmerun.plugins.inventory.acme import ACMEInventory
    from acmerun.plugins.runners.rolling import RollingRunner

    ConnectionPluginRegister.register(CONNECTION_PLUGIN, AcmeOS)
    InventoryPluginRegister.register(INVENTORY_PLUGIN, ACMEInventory)
    RunnersPluginRegister.register(RUNNER_PLUGIN, RollingRunner)


def init_nornir(
    inventory: InventorySource,
    runner_options: Mapping[str, Any],
    *,
    check: bool,
    credentials: Credentials,
    secrets: Secrets,
    login_rate: LoginRate | None = None,
) -> Nornir:
    """nornir over the inventory, with the rolling runner; missing credentials filled in.

    Every password the inventory holds is added to ``secrets``; every login of the
    ``acmeos`` connection waits for ``login_rate`` when given.
    """
    from nornir import InitNornir

    from acmerun.plugins.connections.rate import LOGIN_RATE

    register_plugins()
    nr = InitNornir(
        user_defined={LOGIN_RATE: login_rate} if login_rate is not None else {},
        inventory={"plugin": inventory.plugin, "options": dict(inventory.options)},
        runner={"plugin": RUNNER_PLUGIN, "options": dict(runner_options)},
        logging={"enabled": False},
        dry_run=check,
    )
    defaults = nr.inventory.defaults
    if credentials.username and not defaults.username:
        defaults.username = credentials.username
    if credentials.password and not defaults.password:
        defaults.password = credentials.password
    secrets.add(defaults.password)
    for item in (*nr.inventory.groups.values(), *nr.inventory.hosts.values()):
        secrets.add(item.password)
    return nr


def login_rate(per_second: int | None, stop: StopToken) -> LoginRate | None:
    """The login rate of one process of the run (None: logins are not held back)."""
    if per_second is None:
        return None
    from acmerun.plugins.connections.rate import LoginRate

    return LoginRate(per_second, stop)


def select_hosts(
    nr: Nornir,
    runbook: Runbook,
    compiled: CompiledRunbook,
    limit: str | None,
    only: Iterable[str] | None = None,
) -> tuple[Nornir, tuple[str, ...]]:
    """nornir over the runbook's hosts (its filter, then ``--limit``), and their names sorted.

    ``only`` (``--rerun-failed``: the hosts that failed in a past run) keeps those of them.
    """
    from acmerun.limit import select

    host_filter = compiled.inventory_filter()
    if host_filter is not None:
        nr = nr.filter(host_filter)
    if limit is not None:
        groups = {name: _groups_of(host) for name, host in nr.inventory.hosts.items()}
        chosen = set(select(limit, groups))
        nr = nr.filter(filter_func=lambda host: host.name in chosen)
    if only is not None:
        nr = only_hosts(nr, only)
    if not nr.inventory.hosts:
        raise BadOptions(_nothing_selected(runbook, limit, rerun=only is not None))
    return nr, tuple(sorted(nr.inventory.hosts))


def only_hosts(nr: Nornir, names: Iterable[str]) -> Nornir:
    """nornir over the hosts named (a shard)."""
    wanted = set(names)
    return nr.filter(filter_func=lambda host: host.name in wanted)


def _nothing_selected(runbook: Runbook, limit: str | None, *, rerun: bool = False) -> str:
    """Why a run has no host: a typo in a site name must not pass for a clean run."""
    spec = runbook.inventory
    shown = ", ".join(f"{k}={v!r}" for k, v in spec.options.items() if k != "url")
    parts = [f"the inventory ({spec.plugin}{': ' + shown if shown else ''})"]
    if spec.filter:
        parts.append("the runbook's filter")
    if limit is not None:
        parts.append(f"--limit {limit!r}")
    if rerun:
        parts.append("--rerun-failed (the hosts that failed or were unreachable)")
    return f"no host selected by {' and '.join(parts)}: check the names (site, device type, host)"


def _groups_of(host: Any) -> set[str]:
    names = {group.name for group in host.groups}
    site = host.data.get("site") if isinstance(host.data, dict) else None
    if site:
        names.add(str(site))
    return names
