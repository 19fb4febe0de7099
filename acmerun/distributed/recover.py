"""A shard whose worker died: run again, by the driver, for its hosts without a result.

When a worker dies mid-shard, the scheduler either runs the shard's task again on
another worker (up to its ``allowed-failures``) or gives up with ``KilledWorker``.
Either way the driver takes over: the task run again returns at once (``first_run``
tells it apart: every task marks its key on the scheduler as it starts), and the
driver submits the shard again with only its hosts that have no result yet, as
long as a worker is left and the shard was resubmitted fewer than ``MAX_RESUBMITS``
times. A host whose device the lost worker had already changed is run again: its
steps are idempotent (``acmeos.upgrade_os`` to the version the device runs changes
nothing), so no device is upgraded twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import suppress
from typing import Any

#: how many times the driver submits one shard again after losing its worker
MAX_RESUBMITS = 3

#: the key of a shard's result saying it was a task run again by the scheduler (nothing ran)
RERUN = "rerun"


def marker(key: str) -> str:
    """The Dask event a shard task sets as it starts: set already means a run again."""
    return f"{key}-started"


def first_run(dask: Any, key: str | None) -> bool:
    """Whether this is the first run of the task ``key`` (it marks it run)."""
    if key is None:
        return True
    event = dask.Event(marker(str(key)))
    if event.is_set():
        return False
    event.set()
    return True


class Recovery:
    """The driver's side: which lost shards run again, and the notice line saying so."""

    def __init__(self, dask: Any, client: Any) -> None:
        self.dask = dask
        self.client = client
        self.resubmits: dict[str, int] = {}
        self.keys: list[str] = []

    def submitted(self, key: str) -> None:
        """A shard task was submitted under ``key`` (its marker is cleared at the end)."""
        self.keys.append(key)

    def again(
        self, shard: str, hosts: Sequence[str], done: Collection[str], lost: str | None, alive: int
    ) -> tuple[tuple[str, ...], str]:
        """The hosts to submit again (none: give up) and the notice line to print."""
        left = tuple(name for name in hosts if name not in done)
        who = f"worker {lost}" if lost else "a worker"
        head = f"notice: {who} was lost running shard {shard}"
        count = self.resubmits.get(shard, 0)
        if not left:
            return (), f"{head}; every one of its hosts had already finished"
        if alive < 1:
            return (), f"{head}; no worker is left for its {len(left)} hosts without a result"
        if count >= MAX_RESUBMITS:
            return (), (
                f"{head}; lost {count + 1} times, its {len(left)} hosts without a result"
                " are not run again"
            )
        self.resubmits[shard] = count + 1
        return left, (f"{head}; its {len(left)} hosts without a result run again on another worker")

    def close(self) -> None:
        """Clear the markers of every task submitted (a task still running may set its own)."""
        for key in self.keys:
            with suppress(Exception):
                self.dask.Event(marker(key), client=self.client).clear()


__all__ = ["MAX_RESUBMITS", "RERUN", "Recovery", "first_run", "marker"]
