"""Reaching the cluster, and what each shard is sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from acmerun.defaults import INVENTORY_PLUGIN
from acmerun.distributed import ClusterAddress
from acmerun.distributed.shards import Shard
from acmerun.distributed.worker import Secret, ShardSpec
from acmerun.errors import BadOptions
from acmerun.session.record import PreparedRun, RunnerSettings

#: seconds to reach an existing scheduler
CONNECT_TIMEOUT = 10.0


@contextmanager
def client_of(dask: Any, address: ClusterAddress, env: dict[str, str]) -> Iterator[Any]:
    """A Dask client of the cluster ``address`` names (a LocalCluster for ``local:N``)."""
    if address.local:
        cluster = dask.LocalCluster(
            env=env,  # the worker processes' own environment: the password never goes by Dask
            n_workers=address.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        try:
            with dask.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = dask.Client(address.scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise BadOptions(f"cannot reach the Dask scheduler at {address.scheduler}: {exc}") from None
    with client:
        yield client


def credentials_of(run: PreparedRun) -> tuple[str | None, str | None]:
    """The username and password the driver logs in with."""
    password = run.nornir.inventory.defaults.password or run.credentials.password
    username = run.nornir.inventory.defaults.username or run.credentials.username
    return username or None, password or None


def shard_specs(
    shards: list[Shard],
    run: PreparedRun,
    username: str | None,
    password: str | None,
    runner: RunnerSettings | None = None,
) -> list[ShardSpec]:
    """What each shard's worker is sent: the runbook's text, its hosts' inventory, the login."""
    inventory = run.inventory
    text = run.options.runbook.read_text(encoding="utf-8")
    run_id = uuid.uuid4().hex[:12]
    specs = []
    for shard in shards:
        source = inventory
        by_site = inventory.plugin == INVENTORY_PLUGIN and shard.key == "site"
        if by_site and "(none)" not in shard.values:
            options = {**inventory.options, "filter_sites": list(shard.values)}
            source = type(inventory)(inventory.plugin, options, inventory.embedded)
        specs.append(
            ShardSpec(
                run_id=run_id,
                shard=shard.name,
                hosts=shard.hosts,
                runbook_text=text,
                runbook_path=str(run.options.runbook),
                inventory=source,
                runner=runner or run.runner,
                total_hosts=len(run.selected),
                check=run.options.check,
                extra_vars=dict(run.options.extra_vars),
                tags=run.options.tags,
                skip_tags=run.options.skip_tags,
                username=username,
                password=Secret(password) if password else None,
            )
        )
    return specs
