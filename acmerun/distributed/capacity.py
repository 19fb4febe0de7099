"""What the cluster offers: its workers, their threads and their resources."""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Any


class Capacity:
    """Shards the cluster runs at once (its worker threads), read again every few seconds.

    Shards are submitted no faster than that, so a shard not yet started is still in
    the driver's hands when max_fail_percentage is crossed or a signal comes.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.read_at = 0.0
        self.count = 1

    def threads(self) -> int:
        now = time.monotonic()
        if now - self.read_at > 2.0:
            self.read_at = now
            with suppress(Exception):
                found = workers(self.client).values()
                self.count = max(1, sum(int(w.get("nthreads") or 1) for w in found))
        return self.count


def workers(client: Any) -> dict[str, Any]:
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:
        info = client.scheduler_info()
    workers: dict[str, Any] = info.get("workers", {})
    return workers


def offered(client: Any) -> set[str]:
    """The resources some worker of the cluster offers (``dask worker --resources``)."""
    return {r for w in workers(client).values() for r in (w.get("resources") or {})}
