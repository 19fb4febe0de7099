"""A cluster's share of the login rate: ``strategy.connect_rate`` split over the shards at once.

The rate is across the run. The driver runs at most ``shards_at_once`` shards at
the same time (never more than the rate, so every shard gets at least one login a
second) and gives each of them ``rate // shards_at_once`` logins per second: each
shard's own ``LoginRate`` keeps its share, so no second of the run sees more than
the rate, however the shards' logins fall. A share rounds down: with 50 and 3
shards at once, 16 each, 48 in all.
"""

from __future__ import annotations

import dataclasses

from acmerun.distributed.worker import ShardSpec


def shards_at_once(rate: int | None, shards: int, threads: int) -> int:
    """How many shards run at the same time: the cluster's threads, at most the rate."""
    at_once = max(1, min(shards, threads))
    return at_once if rate is None else max(1, min(at_once, rate))


def with_share(spec: ShardSpec, rate: int | None, at_once: int) -> ShardSpec:
    """The shard with its share of the run's login rate (unchanged without a rate)."""
    if rate is None:
        return spec
    runner = dataclasses.replace(spec.runner, connect_rate=max(1, rate // at_once))
    return dataclasses.replace(spec, runner=runner)
