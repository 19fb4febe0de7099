"""The selected hosts split into shards by a host-data key, redundancy groups kept whole.

A shard is every host with the same value of the key (``--shard-by site``: one
shard per site). When a redundancy group (``strategy.rolling.group_by``) has
hosts in two shards, those shards are merged, so that one rolling runner sees
the whole group and never has more than ``max_down`` of it down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acmerun.errors import BadOptions

#: the shard of the hosts that have no value for the key
NO_VALUE = "(none)"


@dataclass(frozen=True)
class Shard:
    """Hosts run by one Dask task: the key's values they share, and their names."""

    key: str
    values: tuple[str, ...]
    hosts: tuple[str, ...]

    @property
    def name(self) -> str:
        """``site=earth``, or ``site=earth+mars`` for shards merged to keep a group whole."""
        return f"{self.key}={'+'.join(self.values)}"

    def resources(self, advertised: set[str]) -> dict[str, float]:
        """Dask resources this shard asks for: ``KEY-VALUE`` for each one some worker offers."""
        wanted = {resource_name(self.key, value) for value in self.values}
        return {name: 1 for name in sorted(wanted & advertised)}


def resource_name(key: str, value: str) -> str:
    """The worker resource that pins a shard: ``site-earth`` for ``--shard-by site``, earth."""
    return f"{key}-{value}"


def plan_shards(
    key: str,
    selected: Sequence[str],
    value_of: Callable[[str], Any],
    group_of: Callable[[str], str],
) -> list[Shard]:
    """The shards of ``selected`` by ``key``, largest first; groups never span two shards.

    ``value_of(host)`` is the host's value for the key (None when it has none),
    ``group_of(host)`` its redundancy group ("" when it has none). BadOptions
    when no selected host has a value for the key (a typo in ``--shard-by``).
    """
    values = {}
    for host in selected:
        value = value_of(host)
        values[host] = NO_VALUE if value is None or value == "" else str(value)
    if selected and all(v == NO_VALUE for v in values.values()):
        raise BadOptions(f"--shard-by {key}: no selected host has {key!r} in its data")
    parent = {value: value for value in values.values()}

    def root(value: str) -> str:
        while parent[value] != value:
            parent[value] = parent[parent[value]]
            value = parent[value]
        return value

    first_value_of_group: dict[str, str] = {}
    for host in selected:
        group = group_of(host)
        if not group:
            continue
        seen = first_value_of_group.setdefault(group, values[host])
        a, b = root(seen), root(values[host])
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[str, list[str]] = {}
    merged: dict[str, set[str]] = {}
    for host in selected:
        top = root(values[host])
        members.setdefault(top, []).append(host)
        merged.setdefault(top, set()).add(values[host])
    shards = [
        Shard(key=key, values=tuple(sorted(merged[top])), hosts=tuple(hosts))
        for top, hosts in members.items()
    ]
    shards.sort(key=lambda s: (-len(s.hosts), s.values))
    return shards


def host_values(hosts: Mapping[str, Any], key: str) -> Callable[[str], Any]:
    """``value_of`` for ``plan_shards`` over nornir hosts: the key from data, groups, defaults."""

    def value_of(name: str) -> Any:
        host = hosts[name]
        try:
            return host.get(key)
        except (KeyError, AttributeError):
            return None

    return value_of
