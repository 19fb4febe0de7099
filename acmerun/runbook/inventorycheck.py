"""The ``inventory`` section against the plugin it names and nornir's filter.

The plugin is looked up in nornir's inventory plugin register (entry points of the
installed packages); its options are checked against its ``__init__`` signature:
names (with a did-you-mean) and, where annotated, types. A filter key whose first
part is a method of nornir's ``Host`` (``keys``, ``get``...) would call that method
on every host, not compare a data key: it is refused.

A plugin declares the data keys its hosts carry in a class attribute
``HOST_DATA_KEYS: frozenset[str]`` (absent or None: unknown). Declared keys check
the filter's keys here, and the names templates read (``acmerun.runbook.names``).
"""

from __future__ import annotations

import collections.abc
import contextlib
import functools
import inspect
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from nornir.core.inventory import Host
from nornir.core.plugins.inventory import InventoryPluginRegister

from acmerun.defaults import INVENTORY_PLUGIN
from acmerun.runbook.source import Path, Problem, Source, format_path
from acmerun.runbook.tasks import did_you_mean

_LISTS = {
    collections.abc.Iterable,
    collections.abc.Sequence,
    collections.abc.Collection,
    list,
    tuple,
}
_WORDS: dict[Any, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}
_HOST_METHODS = frozenset(
    n for n in dir(Host) if not n.startswith("_") and callable(getattr(Host, n))
)
#: what a filter key may name besides data: the attributes of nornir's Host (name, hostname...)
_HOST_ATTRIBUTES = frozenset(n for n in dir(Host) if not n.startswith("_")) - _HOST_METHODS


def _at(source: Source, path: Path, message: str, key: bool = False) -> Problem:
    line, col = source.key_at(path) if key else source.value_at(path)
    return Problem(line, col, format_path(path[:-1] if key else path), message)


@functools.lru_cache(maxsize=1)
def _plugins() -> dict[str, Any]:
    with contextlib.suppress(Exception):  # a broken entry point of another package
        InventoryPluginRegister.auto_register()
    return dict(InventoryPluginRegister.available)


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in _LISTS or hint in _LISTS:
        item = (typing.get_args(hint) or (Any,))[0]
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin in (dict, collections.abc.Mapping) or hint in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    return True  # a type this check does not know: the plugin decides


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_describe(h) for h in typing.get_args(hint)))
    if origin in _LISTS or hint in _LISTS:
        item = (typing.get_args(hint) or (Any,))[0]
        inner = _describe(item)
        return "a list" if inner == "anything" else f"a list of {inner.split(' ', 1)[-1]}s"
    return _WORDS.get(hint, "anything")


def _options(source: Source, name: str, options: Mapping[str, Any]) -> Iterator[Problem]:
    plugin = _plugins().get(name)
    if plugin is None:
        return
    try:
        sig = inspect.signature(plugin.__init__)
        hints = typing.get_type_hints(plugin.__init__)
    except Exception:  # a signature Python cannot read: the plugin checks its options
        return
    params = {
        p.name: p
        for p in list(sig.parameters.values())[1:]
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    open_ended = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    for key, value in options.items():
        path: Path = ("inventory", "options", key)
        if key not in params:
            if not open_ended:
                hint = did_you_mean(key, params) or f" (its options: {', '.join(params)})"
                yield _at(source, path, f"{name} takes no option '{key}'{hint}", key=True)
            continue
        wanted = hints.get(key, params[key].annotation)
        if not _fits(value, wanted):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            message = f"{shown} does not fit {name}'s option '{key}': give {_describe(wanted)}"
            yield _at(source, path, message)
    for param in params.values():
        if param.default is param.empty and param.name not in options:
            message = f"{name} needs the option '{param.name}'"
            yield _at(source, ("inventory", "options"), message)


def _plugin_name(source: Source) -> Any:
    data = source.data
    inventory = data.get("inventory") if isinstance(data, Mapping) else None
    return (
        inventory.get("plugin", INVENTORY_PLUGIN)
        if isinstance(inventory, Mapping)
        else (INVENTORY_PLUGIN)
    )


def host_data_keys(source: Source) -> frozenset[str] | None:
    """The data keys the runbook's inventory plugin declares its hosts carry; None: unknown."""
    name = _plugin_name(source)
    plugin = _plugins().get(name) if isinstance(name, str) else None
    keys = getattr(plugin, "HOST_DATA_KEYS", None)
    if not isinstance(keys, (frozenset, set, tuple, list)):
        return None
    return frozenset(k for k in keys if isinstance(k, str))


def _filter(
    source: Source, spec: Any, path: Path, keys: frozenset[str] | None
) -> Iterator[Problem]:
    if not isinstance(spec, Mapping):
        return
    for key, value in spec.items():
        if key in ("and", "or") and isinstance(value, list):
            for i, item in enumerate(value):
                yield from _filter(source, item, (*path, key, i), keys)
        elif key == "not":
            yield from _filter(source, value, (*path, key), keys)
        elif isinstance(key, str) and key.split("__")[0] in _HOST_METHODS:
            first = key.split("__")[0]
            message = (
                f"'{first}' is a method of nornir's Host, not a data key: the filter would "
                f"call it on every host; name a key of the hosts' data (site, dev_type, rack)"
            )
            yield _at(source, (*path, key), message, key=True)
        elif isinstance(key, str) and keys is not None:
            first = key.split("__")[0]
            if first not in keys and first not in _HOST_ATTRIBUTES:
                hint = did_you_mean(first, sorted(keys | _HOST_ATTRIBUTES))
                message = f"'{first}' is not a data key of the hosts{hint}"
                yield _at(source, (*path, key), message, key=True)


def inventory_problems(source: Source) -> Iterator[Problem]:
    """Every problem of the runbook's ``inventory`` section beyond its schema."""
    data = source.data
    inventory = data.get("inventory") if isinstance(data, Mapping) else None
    if not isinstance(inventory, Mapping):
        return
    name = inventory.get("plugin", INVENTORY_PLUGIN)
    if isinstance(name, str) and name:
        known = _plugins()
        if name not in known and name != INVENTORY_PLUGIN:
            lower = {k.lower(): k for k in known}
            close = did_you_mean(name.lower(), lower)
            hint = (
                f" (did you mean '{lower[close.split(chr(39))[1]]}'?)"
                if close
                else f" (installed: {', '.join(sorted(known))})"
            )
            yield _at(source, ("inventory", "plugin"), f"unknown inventory plugin '{name}'{hint}")
        elif isinstance(inventory.get("options"), Mapping):
            yield from _options(source, name, inventory["options"])
    keys = host_data_keys(source)
    yield from _filter(source, inventory.get("filter"), ("inventory", "filter"), keys)
