"""Running a runbook across a Dask cluster: ``acmerun RUNBOOK --cluster ADDRESS``.

The driver (the ``acmerun`` process) reads the inventory once, selects the hosts
as a local run would, splits them into shards by a host-data key (``--shard-by``,
``site`` by default; a redundancy group never spans two shards) and submits one
Dask task per shard. Each task builds its own nornir on a worker from the
runbook's text, the shard's host names and the inventory settings, runs it with
the rolling runner, streams each host's result back as it finishes, and returns
them all. The driver merges them into the usual reports and exit code.

    shards.py    the split into shards (no Dask)
    worker.py    what a shard task runs on a worker
    driver.py    the cluster, the tasks, faults, signals, max_fail_percentage

Nothing here imports Dask at module level: ``acmerun`` without ``--cluster``
never imports it, and ``distributed`` is an optional extra.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from acmerun.errors import BadOptions

#: what to install when ``distributed`` is missing
INSTALL_HINT = "pip install 'acmerun[distributed]'"

_LOCAL = re.compile(r"local:(\d+)")


@dataclass(frozen=True)
class ClusterAddress:
    """Where shards run: a scheduler's address, or a local cluster of ``workers`` processes."""

    scheduler: str | None = None
    workers: int = 0

    @property
    def local(self) -> bool:
        """True for ``local:N``: a cluster started for the length of the run."""
        return self.scheduler is None

    def __str__(self) -> str:
        if self.scheduler is None:
            return f"local cluster of {self.workers} worker process{'es' * (self.workers != 1)}"
        return f"Dask scheduler {self.scheduler}"


def parse_cluster(text: str) -> ClusterAddress:
    """``local:N`` or a scheduler address (``tcp://host:8786``, ``host:8786``); else BadOptions."""
    text = text.strip()
    match = _LOCAL.fullmatch(text)
    if match:
        workers = int(match.group(1))
        if workers < 1:
            raise BadOptions("--cluster local:N needs at least one worker (N >= 1)")
        return ClusterAddress(workers=workers)
    if text.startswith("local"):
        raise BadOptions(f"--cluster {text!r}: a local cluster is local:N, N worker processes")
    address = text if "://" in text else f"tcp://{text}"
    scheme = address.partition("://")[0]
    problem = None if scheme in ("tcp", "tls", "ucx", "ws", "wss") else "an unknown scheme"
    if problem is None:
        try:
            parts = urlsplit(address)
            port = parts.port
        except ValueError as exc:
            problem = str(exc)
        else:
            if not parts.hostname or port is None or parts.path or parts.query:
                problem = "it needs HOST:PORT"
            elif not 1 <= port <= 65535:
                problem = "the port is not in 1-65535"
    if problem is not None:
        raise BadOptions(
            f"--cluster {text!r} is neither local:N nor a Dask scheduler address "
            f"(tcp://HOST:PORT): {problem}"
        )
    return ClusterAddress(scheduler=address)


def require_distributed() -> Any:
    """The ``distributed`` module; ``BadOptions`` (exit 5) with the install command without it."""
    # Dask's own log lines (a worker lost, a task retried) stay off the terminal: the
    # driver reports what they mean; DASK_LOGGING__DISTRIBUTED=info brings them back
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise BadOptions(
            f"--cluster needs Dask distributed, which is not installed ({exc}): {INSTALL_HINT}"
        ) from None
