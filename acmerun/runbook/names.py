"""The names templates and expressions read, checked against what defines them at that point.

A name is defined by the runbook's ``vars``, the ``register`` of an earlier step, the
names the run defines (``RESERVED_NAMES``), the command line's ``-e`` names and the
host-data keys the inventory plugin declares. Names a template binds itself
(``{% set %}``, ``{% for %}``, macro arguments) are its own. Only the root of a name
is checked: ``res.cpu`` needs ``res``, not its ``cpu``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from jinja2 import meta, nodes

from acmerun.runbook.tasks import did_you_mean
from acmerun.runbook.templating import RESERVED_NAMES, environment, parse_expression

_ENV = environment()
#: reserved words that are not variables: never offered as a did-you-mean
_WORDS = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not"})
_WORDS = _WORDS | {"in", "is", "if", "else"}
#: what ``rolling.group_by`` sees of a host besides its data (docs/rolling.md)
GROUP_BY_NAMES = frozenset({"name", "hostname", "platform"})


def template_names(source: str) -> frozenset[str]:
    """The root names a template reads and does not bind itself (empty if it cannot parse)."""
    try:
        return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))
    except Exception:  # a syntax error, reported by the template checks
        return frozenset()


def expression_names(source: str) -> frozenset[str]:
    """The root names a bare expression reads (empty if it cannot parse)."""
    try:
        tree = parse_expression(source)
    except Exception:  # a syntax error, reported by the expression checks
        return frozenset()
    found = [tree] if isinstance(tree, nodes.Name) else list(tree.find_all(nodes.Name))
    return frozenset(n.name for n in found if n.ctx == "load")


@dataclass
class Scope:
    """What is defined at one point of a runbook; ``host_keys`` None: host data unknown."""

    vars: frozenset[str]
    extra: frozenset[str]
    host_keys: frozenset[str] | None
    #: every register of the runbook, with where it is written (for "not defined yet")
    later: dict[str, str] = field(default_factory=dict)
    registered: set[str] = field(default_factory=set)

    def defined(self, more: Iterable[str] = ()) -> frozenset[str]:
        """Every name defined here."""
        names = self.vars | self.extra | RESERVED_NAMES | frozenset(self.registered)
        return names | (self.host_keys or frozenset()) | frozenset(more)

    def problems(self, names: Iterable[str], more: Iterable[str] = ()) -> list[str]:
        """A message for each name of ``names`` nothing defines here."""
        known = self.defined(more)
        found = []
        for name in sorted(set(names) - known):
            if name in self.later:
                where = self.later[name]
                found.append(f"'{name}' is not defined yet: {where} registers it, and runs later")
            elif self.host_keys is None:
                continue  # any other name may be a key of the hosts' data
            else:
                hint = did_you_mean(name, sorted(known - _WORDS))
                found.append(f"'{name}' is not defined{hint}")
        return found
