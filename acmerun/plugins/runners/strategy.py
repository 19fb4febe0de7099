"""The rolling strategy's options, checked once: redundancy groups and ``serial`` batches.

``group_namer`` turns ``group_by`` (a Jinja2 template over host data, or a callable) into
a function naming each host's redundancy group; ``parse_serial`` and ``serial_batches``
turn Ansible's ``serial`` (a count, ``"N%"``, or a list of them whose last one repeats)
into consecutive batches of the run's hosts; ``canary_picker`` and ``plan_batches`` put
the canary hosts alone in a first batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from nornir.core.inventory import Host

#: what ``group_by`` may be: a template, a function of the host, or None (one group per host)
GroupBy = str | Callable[[Host], Any] | None
#: what ``serial`` may be
Serial = int | str | Sequence[int | str] | None


class RunnerOptionsError(ValueError):
    """An option of the rolling runner is invalid, or ``group_by`` cannot name a host's group."""


_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def host_var(host: Host, name: str) -> Any:
    """A variable as a ``group_by`` template sees it: the host's name, its data (inherited
    data included), or its ``hostname`` / ``platform``; ``KeyError`` when it has none."""
    if name in ("name", "inventory_hostname"):
        return host.name
    try:
        return host[name]
    except KeyError:
        if name in ("hostname", "platform"):
            return getattr(host, name)
        raise


def group_namer(group_by: GroupBy) -> Callable[[Host], str]:
    """A function naming a host's redundancy group; ``RunnerOptionsError`` for a bad template."""
    if group_by is None:
        return _own_group
    if isinstance(group_by, str):
        try:
            template = _ENV.from_string(group_by)
        except TemplateError as e:
            raise RunnerOptionsError(
                f"rolling group_by {group_by!r} is not a valid template: {e}"
            ) from e
        names = meta.find_undeclared_variables(_ENV.parse(group_by))
        return lambda host: template.render(_template_vars(host, names))
    if callable(group_by):
        return lambda host: str(group_by(host))
    raise RunnerOptionsError(f"rolling group_by must be a template or a callable, not {group_by!r}")


def _template_vars(host: Host, names: Iterable[str]) -> dict[str, Any]:
    variables = {}
    for name in names:
        # left undefined: the template's own default, a Jinja global, or StrictUndefined's error
        with contextlib.suppress(KeyError):
            variables[name] = host_var(host, name)
    return variables


def _own_group(host: Host) -> str:
    return host.name


def name_groups(group_by: GroupBy, namer: Callable[[Host], str], hosts: list[Host]) -> list[str]:
    """Every host's group name, in order; ``RunnerOptionsError`` naming the hosts a template
    cannot name. A function's own errors propagate as they are: they are its caller's."""
    if callable(group_by):
        return [namer(host) for host in hosts]
    names: list[str] = []
    errors: list[str] = []
    for host in hosts:
        try:
            names.append(namer(host))
        except Exception as e:
            errors.append(f"{host.name}: {e}")
    if errors:
        more = f" (and {len(errors) - 1} more hosts)" if len(errors) > 1 else ""
        raise RunnerOptionsError(
            f"rolling group_by {group_by!r} cannot name the redundancy group of host "
            f"{errors[0]}{more}"
        )
    return names


def parse_serial(serial: Serial) -> list[int | float]:
    """``serial`` as batch sizes: ints are host counts, floats are percentages; [] = one batch."""
    if serial is None:
        return []
    specs = [serial] if isinstance(serial, (int, str)) else list(serial)
    if not specs:
        raise RunnerOptionsError("rolling serial must not be an empty list")
    return [_parse_one(s) for s in specs]


def _parse_one(spec: object) -> int | float:
    bad = RunnerOptionsError(
        f"rolling serial {spec!r} is not a host count or a percentage like '30%'"
    )
    if isinstance(spec, bool):
        raise bad
    if isinstance(spec, int):
        if spec < 1:
            raise bad
        return spec
    if not isinstance(spec, str):
        raise bad
    text = spec.strip()
    try:
        if text.endswith("%"):
            percent = float(text[:-1])
            if not 0 < percent <= 100:
                raise bad
            return percent
        count = int(text)
    except ValueError:
        raise bad from None
    if count < 1:
        raise bad
    return count


def serial_batches(sizes: list[int | float], total: int) -> list[range]:
    """Consecutive batches of ``total`` hosts; the last size repeats, a percentage of all hosts
    rounds down but is at least one host (as in Ansible)."""
    if not sizes:
        return [range(total)] if total else []
    batches: list[range] = []
    start = 0
    while start < total:
        spec = sizes[min(len(batches), len(sizes) - 1)]
        size = spec if isinstance(spec, int) else max(1, int(total * spec / 100))
        batches.append(range(start, min(start + size, total)))
        start += size
    return batches


#: what ``canary`` may be: a count, "N%", host names or globs, or a function of the host
Canary = int | str | Sequence[str] | Callable[[Host], bool] | None


def is_count(canary: object) -> bool:
    """True when ``canary`` is a number of hosts or a percentage ("2%"), not host patterns."""
    if isinstance(canary, bool):
        return False
    if isinstance(canary, int):
        return True
    return isinstance(canary, str) and (canary.strip().endswith("%") or canary.strip().isdigit())


def canary_picker(canary: Canary) -> Callable[[list[Host]], list[int]]:
    """A function giving the indexes of the canary hosts among a run's hosts, in order.

    A count or a percentage takes the first hosts (a percentage rounds down but takes
    at least one); names and globs (a string of them separated by ``,``, or a list)
    take the hosts they match; a function takes the hosts it is true for.
    ``RunnerOptionsError`` for a count or a percentage out of range.
    """
    if canary is None:
        return lambda hosts: []
    if callable(canary):
        return lambda hosts: [i for i, h in enumerate(hosts) if canary(h)]
    if is_count(canary):
        try:
            size = _parse_one(canary)
        except RunnerOptionsError:
            raise RunnerOptionsError(
                f"rolling canary {canary!r} is not a host count, a percentage like '2%' "
                "or host names"
            ) from None

        def first(hosts: list[Host]) -> list[int]:
            count = size if isinstance(size, int) else max(1, int(len(hosts) * size / 100))
            return list(range(min(count, len(hosts))))

        return first
    if isinstance(canary, str):
        patterns = [p for p in canary.replace(":", ",").split(",") if p.strip()]
    elif isinstance(canary, Sequence):
        patterns = [str(p) for p in canary]
    else:
        raise RunnerOptionsError(f"rolling canary {canary!r} names no host")
    if not patterns or any(not isinstance(p, str) for p in patterns):
        raise RunnerOptionsError(f"rolling canary {canary!r} names no host")
    globs = [p.strip() for p in patterns]
    return lambda hosts: [
        i for i, h in enumerate(hosts) if any(fnmatchcase(h.name, g) for g in globs)
    ]


def plan_batches(canary: list[int], sizes: list[int | float], total: int) -> list[list[int]]:
    """The batches of a run of ``total`` hosts: the canary hosts alone first (when any),
    then the other hosts in order, in ``serial`` batches (``serial_batches``) over them."""
    chosen = set(canary)
    rest = [i for i in range(total) if i not in chosen]
    batches = [list(canary)] if canary else []
    batches.extend([rest[i] for i in batch] for batch in serial_batches(sizes, len(rest)))
    return batches
