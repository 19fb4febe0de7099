"""``--limit``: narrow a run to some of the runbook's hosts, as Ansible's ``--limit`` does.

A limit is a list of patterns separated by ``,`` or ``:``. A pattern is a host
name, a glob over host names (``edge*``, ``leaf0[0-4].earth``) or a group name
(a site such as ``earth``; globs work there too). ``!pattern`` excludes the hosts
it matches, ``&pattern`` keeps only the hosts it also matches, and ``@FILE``
reads host names, one per line, from a file. With no plain pattern, every host
of the runbook's inventory is the starting point, so ``--limit '!edge*'`` means
"all but the edges".

A pattern that matches no host is an error, never silently ignored, whatever its
kind: a typo in a plain or ``&`` pattern must not quietly shrink a run, nor a typo in
a ``!`` pattern quietly widen it. The error names the pattern and the closest host
or group name.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from fnmatch import fnmatchcase
from pathlib import Path

from acmerun.errors import BadOptions
from acmerun.runbook.tasks import did_you_mean

_SEPARATORS = re.compile(r"[,:\s]+")


def split_patterns(limit: str) -> list[str]:
    """The patterns of a ``--limit`` value, in order, blanks dropped."""
    return [p for p in _SEPARATORS.split(limit.strip()) if p]


def select(limit: str, hosts: Mapping[str, Collection[str]]) -> list[str]:
    """The names of the hosts ``limit`` selects, sorted.

    ``hosts`` maps every host of the runbook's inventory to the names of its
    groups. ``BadOptions`` when the limit is empty, a pattern matches nothing, or
    nothing is left.
    """
    patterns = split_patterns(limit)
    if not patterns:
        raise BadOptions("--limit is empty: give host names, globs or groups")
    included: set[str] = set()
    has_plain = False
    required: list[set[str]] = []
    excluded: set[str] = set()
    for pattern in patterns:
        kind, body = pattern[:1], pattern[1:]
        if kind == "!":
            excluded |= _expand(body, hosts, pattern)
        elif kind == "&":
            required.append(_expand(body, hosts, pattern))
        else:
            has_plain = True
            included |= _expand(pattern, hosts, pattern)
    chosen = included if has_plain else set(hosts)
    for subset in required:
        chosen &= subset
    chosen -= excluded
    if not chosen:
        raise BadOptions(f"--limit {limit!r} leaves no host to run on ({_sample(hosts)})")
    return sorted(chosen)


def _expand(pattern: str, hosts: Mapping[str, Collection[str]], given: str) -> set[str]:
    if not pattern:
        raise BadOptions("--limit has an empty pattern after '!' or '&'")
    if pattern.startswith("@"):
        return _from_file(pattern[1:], hosts)
    found = {
        name
        for name, groups in hosts.items()
        if fnmatchcase(name, pattern) or any(fnmatchcase(g, pattern) for g in groups)
    }
    if not found:
        names = {*hosts, *(g for gs in hosts.values() for g in gs)}
        hint = did_you_mean(pattern, names) if names else ""
        raise BadOptions(
            f"--limit pattern {given!r} matches no host or group of the runbook's inventory"
            f"{hint} ({_sample(hosts)})"
        )
    return found


def _from_file(name: str, hosts: Mapping[str, Collection[str]]) -> set[str]:
    try:
        lines = Path(name).expanduser().read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadOptions(f"--limit @{name}: cannot read it: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadOptions(f"--limit @{name}: not UTF-8 text (one host name a line)") from exc
    wanted = {name for line in lines if (name := line.split("#", 1)[0].strip())}
    unknown = sorted(wanted - set(hosts))
    if unknown:
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise BadOptions(
            f"--limit @{name}: not in the runbook's inventory: {', '.join(unknown[:3])}{more}"
        )
    return wanted


def _sample(hosts: Mapping[str, Collection[str]]) -> str:
    if not hosts:
        return "the inventory is empty"
    names = sorted(hosts)
    groups = sorted({g for gs in hosts.values() for g in gs})
    text = f"{len(names)} hosts, e.g. {', '.join(names[:3])}"
    if groups:
        text += f"; groups: {', '.join(groups[:5])}{', ...' if len(groups) > 5 else ''}"
    return text
