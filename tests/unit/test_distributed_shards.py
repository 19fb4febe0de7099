"""Shards by a host-data key, redundancy groups kept whole; --cluster addresses."""

from __future__ import annotations

import pytest

from acmerun.distributed import parse_cluster
from acmerun.distributed.shards import plan_shards
from acmerun.errors import BadOptions

SITES = {"a.earth": "earth", "b.earth": "earth", "a.mars": "mars", "a.venus": "venus", "x": None}


def test_one_shard_per_value_largest_first() -> None:
    shards = plan_shards("site", list(SITES), SITES.get, lambda host: "")
    assert [(s.name, s.hosts) for s in shards] == [
        ("site=earth", ("a.earth", "b.earth")),
        ("site=(none)", ("x",)),
        ("site=mars", ("a.mars",)),
        ("site=venus", ("a.venus",)),
    ]


def test_a_group_spanning_two_shards_merges_them() -> None:
    groups = {"a.earth": "g1", "a.mars": "g1", "a.venus": "g2", "b.earth": "g3", "x": ""}
    shards = plan_shards("site", list(SITES), SITES.get, groups.__getitem__)
    assert [s.name for s in shards] == ["site=earth+mars", "site=(none)", "site=venus"]
    assert shards[0].hosts == ("a.earth", "b.earth", "a.mars")


def test_resources_are_asked_for_only_when_a_worker_offers_them() -> None:
    groups = {"a.earth": "g", "a.mars": "g"}
    (shard,) = plan_shards("site", ["a.earth", "a.mars"], SITES.get, groups.__getitem__)
    assert shard.resources({"site-mars", "site-jupyter"}) == {"site-mars": 1}
    assert shard.resources(set()) == {}


def test_a_key_no_host_has_is_a_bad_option() -> None:
    with pytest.raises(BadOptions, match="--shard-by rakc: no selected host has 'rakc'"):
        plan_shards("rakc", list(SITES), lambda host: None, lambda host: "")


@pytest.mark.parametrize(
    ("text", "scheduler", "workers"),
    [
        ("local:3", None, 3),
        ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786", 0),
        ("scheduler.example.net:8786", "tcp://scheduler.example.net:8786", 0),
    ],
)
def test_cluster_addresses(text: str, scheduler: str | None, workers: int) -> None:
    address = parse_cluster(text)
    assert (address.scheduler, address.workers) == (scheduler, workers)


@pytest.mark.parametrize("text", ["local:0", "local", "http://x:8786", "tcp://"])
def test_bad_cluster_addresses(text: str) -> None:
    with pytest.raises(BadOptions, match="--cluster"):
        parse_cluster(text)
