"""The plan as the terminal shows it: the hosts to change, grouped by their changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from acmerun.secrets import printable

#: hosts named per group before "and N more"
_NAMED = 5


def _hosts(n: int) -> str:
    return f"{n} host{'s' if n != 1 else ''}"


def pending(plan: Mapping[str, Any]) -> list[str]:
    """The hosts with changes pending, sorted."""
    return sorted(n for n, h in plan["hosts"].items() if h["status"] == "changed" and h["state"])


def summary_lines(plan: Mapping[str, Any]) -> list[str]:
    """The plan in a few lines: hosts grouped by what would change, the others counted."""
    hosts: Mapping[str, Mapping[str, Any]] = plan["hosts"]
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name in pending(plan):
        key = tuple(c["summary"] for c in hosts[name]["changes"]) or ("changed",)
        groups[key].append(name)
    unchanged = sorted(n for n, h in hosts.items() if h["status"] == "ok")
    other = sorted(n for n in hosts if n not in unchanged and n not in pending(plan))
    lines = [f"plan {plan['run_id']} of {plan['runbook']['path']}: {plan['name']}"]
    changing = sum(len(v) for v in groups.values())
    lines.append(
        f"{_hosts(changing)} to change, {_hosts(len(unchanged))} with nothing to change"
        + (f", {_hosts(len(other))} not planned" if other else "")
    )
    for key, names in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"  {_hosts(len(names))}: {printable(key[0])}")
        lines.extend(f"  {' ' * len(_hosts(len(names)))}  {printable(k)}" for k in key[1:])
        named = ", ".join(printable(n) for n in names[:_NAMED])
        more = f" and {len(names) - _NAMED} more" if len(names) > _NAMED else ""
        lines.append(f"    ({named}{more})")
    for name in other:
        entry = hosts[name]
        reason = printable(" ".join(str(entry["error"] or "").split()))
        lines.append(
            f"  not planned: {printable(name)}: {entry['status']}"
            + (f": {reason}" if reason else "")
        )
    return lines
