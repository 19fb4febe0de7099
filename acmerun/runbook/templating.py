"""Templates and expressions: Jinja2 in a bounded immutable sandbox, undefined names are errors.

A string with ``{{ }}``, ``{% %}`` or ``{# #}`` is a template; a string that is one
``{{ expr }}`` and nothing else renders to the expression's own value (an int stays an
int). ``when`` and ``assert`` are bare expressions (``res.cpu < 80``). Everything is
parsed and compiled once, when the runbook is compiled; rendering only evaluates.

Every render runs within the render budget (``acmerun.runbook.budget``): a template
that would compute too much is refused with ``RenderBudgetExceeded``. A caller with a
deadline renders through ``render_within``.
"""

from __future__ import annotations

import difflib
import re
import reprlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, meta, nodes
from jinja2.parser import Parser

from acmerun.runbook import budget
from acmerun.runbook.budget import (
    MAX_NUMBER_DIGITS,
    RenderBudgetExceeded,
    RenderDeadline,
    RenderInterrupted,
)
from acmerun.runbook.costs import binop
from acmerun.runbook.filters import FILTERS
from acmerun.runbook.sandbox import BoundedEnvironment

__all__ = [
    "RESERVED_NAMES",
    "Expression",
    "RenderBudgetExceeded",
    "RenderDeadline",
    "RenderInterrupted",
    "Renderer",
    "compile_text",
    "compile_value",
    "expression_problems",
    "is_template",
    "parse_expression",
    "render_within",
    "template_problems",
]

#: a compiled value: call it with the variables to get the rendered value
Renderer = Callable[[Mapping[str, Any]], Any]

_SINGLE = re.compile(r"^\{\{(?P<expr>(?:(?!\{\{|\}\}|\{%|\{#).)*)\}\}$", re.DOTALL)

#: names a template cannot rebind: literals, operators and template functions
RESERVED_NAMES = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is"}
    | {"if", "else", "range", "dict", "lipsum", "cycler", "joiner", "namespace"}
    | {"inventory_hostname", "check_mode", "loop", "self", "varargs", "kwargs", "caller"}
)


def environment() -> BoundedEnvironment:
    """The sandboxed, bounded Jinja2 environment every runbook template runs in."""
    return BoundedEnvironment(FILTERS)


_ENV = environment()


def is_template(text: str) -> bool:
    """True when ``text`` holds Jinja2 markup and must be rendered."""
    return "{{" in text or "{%" in text or "{#" in text


#: how deep a template's expressions may nest (Jinja2 parses and compiles them recursively)
MAX_NESTING = 50
_TOO_DEEP = f"nests more than {MAX_NESTING} levels deep: split it into simpler parts"


def _too_deep(tree: nodes.Node) -> bool:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return True
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return False


def _private(tree: nodes.Node) -> Iterator[str]:
    for node in (tree, *tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Filter))):
        if isinstance(node, nodes.Name) and node.name.startswith("_"):
            yield node.name
        elif isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield node.attr
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("_")
        ):
            yield node.arg.value
        elif (
            isinstance(node, nodes.Filter)
            and node.name == "attr"
            and node.args
            and isinstance(node.args[0], nodes.Const)
            and str(node.args[0].value).startswith("_")
        ):
            yield str(node.args[0].value)


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{name}'{hint}"


def _name_problems(tree: nodes.Node) -> list[str]:
    """Filters and tests the sandbox does not have: found before any run."""
    found: dict[str, None] = {}
    for node in (tree, *tree.find_all((nodes.Filter, nodes.Test))):
        if isinstance(node, nodes.Filter) and node.name not in _ENV.filters:
            found[_unknown("filter", node.name, _ENV.filters)] = None
        elif isinstance(node, nodes.Test) and node.name not in _ENV.tests:
            found[_unknown("test", node.name, _ENV.tests)] = None
    return list(found)


def _private_problems(tree: nodes.Node) -> list[str]:
    return [
        f"'{name}' starts with '_': templates may not reach for internal names or attributes"
        for name in dict.fromkeys(_private(tree))
    ]


def _syntax(error: TemplateSyntaxError, source: str, kind: str = "template") -> str:
    where = f" (line {error.lineno})" if "\n" in source.strip() else ""
    message = (error.message or "").replace("'end of template'", f"end of {kind}")
    return f"{kind} syntax error: {message}{where}"


def _parse_expression(source: str) -> nodes.Expr:
    parser = Parser(_ENV, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected {token.value!r} after the expression", 1)
    return expr


def parse_expression(source: str) -> nodes.Expr:
    """The parsed tree of a bare expression; raises ``TemplateSyntaxError``."""
    return _parse_expression(source)


class _NotConstant(Exception):
    pass


def _fold(node: nodes.Node, bounds: budget.Budget) -> Any:
    """The value of a constant arithmetic expression, computed within ``bounds``."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.BinExpr):
        left, right = _fold(node.left, bounds), _fold(node.right, bounds)
        binop(bounds, node.operator, left, right)
        return bounds.made(_ENV.binop_table[node.operator](left, right))
    if isinstance(node, nodes.Neg):
        return -_fold(node.node, bounds)
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return [_fold(item, bounds) for item in node.items]
    raise _NotConstant


def _budget_problems(tree: nodes.Node, kind: str) -> list[str]:
    """Constant arithmetic over the render budget (``9 ** (9 ** 9)``): refused before any run."""
    for node in tree.find_all(nodes.BinExpr):
        try:
            _fold(node, budget.Budget(kind))
        except RenderBudgetExceeded as error:
            return [f"the {kind} exceeds the render budget: {error.detail}"]
        except Exception:  # not constant, or an error the run reports (1 / 0)
            continue
    return []


def _problems(kind: str, source: str, parse: Callable[[str], nodes.Node]) -> list[str]:
    try:
        tree = parse(source)
    except TemplateSyntaxError as error:
        return [_syntax(error, source, kind)]
    except RecursionError:
        return [f"the {kind} {_TOO_DEEP}"]
    except ValueError:  # Python refuses to read an integer this long
        return [f"the {kind} holds a number of more than {MAX_NUMBER_DIGITS} digits"]
    if _too_deep(tree):
        return [f"the {kind} {_TOO_DEEP}"]
    return _private_problems(tree) or _name_problems(tree) or _budget_problems(tree, kind)


def template_problems(source: str) -> list[str]:
    """What is wrong with a template, found without rendering it (empty when nothing)."""
    return _problems("template", source, _ENV.parse)


def expression_problems(source: str) -> list[str]:
    """What is wrong with a ``when`` or ``assert`` expression (empty when nothing)."""
    stripped = source.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        return ["an expression is written without '{{ }}', e.g. res.cpu < 80"]
    return _problems("expression", source, _parse_expression)


def _check(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def _pick(names: frozenset[str], ctx: Mapping[str, Any]) -> dict[str, Any]:
    """Only the variables a template reads: rendering then costs the same on any host."""
    return {name: ctx[name] for name in names if name in ctx}


def _expression_names(source: str) -> frozenset[str]:
    tree = _parse_expression(source)
    found = [tree] if isinstance(tree, nodes.Name) else list(tree.find_all(nodes.Name))
    return frozenset(n.name for n in found)


def _expression_renderer(source: str, kind: str = "expression", shown: str = "") -> Renderer:
    expr = _ENV.compile_expression(source, undefined_to_none=False)
    names = _expression_names(source)

    def render(ctx: Mapping[str, Any]) -> Any:
        with budget.scope(kind, shown or source) as bounds:
            given = _pick(names, ctx)
            value = _check(expr(**given))
            if not any(value is v for v in given.values()):
                bounds.check_size(value, "the value")
            return value

    return render


def compile_text(source: str) -> Renderer:
    """A renderer producing text (for names such as ``rolling.group_by``)."""
    template = _ENV.from_string(source)
    names = frozenset(meta.find_undeclared_variables(_ENV.parse(source)))

    def render(ctx: Mapping[str, Any]) -> str:
        with budget.scope("template", source):
            return template.render(_pick(names, ctx))

    return render


def render_within(
    renderer: Renderer,
    variables: Mapping[str, Any],
    *,
    seconds: float | None,
    stop: threading.Event | None = None,
) -> Any:
    """``renderer(variables)``, all its templates sharing one budget that ends in ``seconds``.

    For a caller with a deadline (a step's ``timeout``): ``RenderDeadline`` when the
    time runs out while rendering, ``RenderInterrupted`` as soon as ``stop`` is set,
    ``RenderBudgetExceeded`` for any other bound of the budget.
    """
    with budget.limits(seconds, stop):
        return renderer(variables)


def compile_value(value: Any) -> Renderer | None:
    """A renderer for an arg value (templates anywhere inside), or None when it is constant."""
    if isinstance(value, str):
        if not is_template(value):
            return None
        single = _SINGLE.match(value.strip())
        if single is not None:
            try:
                return _expression_renderer(single.group("expr"), "template", value)
            except TemplateSyntaxError:
                pass
        return compile_text(value)
    if isinstance(value, Mapping):
        parts = {k: (v, compile_value(v)) for k, v in value.items()}
        if all(r is None for _, r in parts.values()):
            return None
        return lambda ctx: {k: v if r is None else r(ctx) for k, (v, r) in parts.items()}
    if isinstance(value, list):
        items = [(v, compile_value(v)) for v in value]
        if all(r is None for _, r in items):
            return None
        return lambda ctx: [v if r is None else r(ctx) for v, r in items]
    return None


def _chain(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        base = _chain(node.node)
        return None if base is None else f"{base}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _chain(node.node)
        return None if base is None else f"{base}[{node.arg.value!r}]"
    return None


def _probes(node: nodes.Node, found: dict[str, None]) -> None:
    chain = _chain(node)
    if chain is not None:
        found[chain] = None
        return
    for child in node.iter_child_nodes():
        if isinstance(node, nodes.Call) and child is node.node:
            continue
        _probes(child, found)


class _Short(reprlib.Repr):
    """A short repr that masks every string before it is cut, so no part of a secret shows."""

    def __init__(self, mask: Callable[[str], str]) -> None:
        super().__init__()
        self.mask = mask
        self.maxstring = self.maxother = 80
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 20
        self.maxlevel = 4

    def repr_str(self, x: str, level: int) -> str:
        return super().repr_str(self.mask(x), level)


def _unmasked(text: str) -> str:
    return text


def _show(value: Any, mask: Callable[[str], str] = _unmasked) -> str:
    if isinstance(value, Undefined):
        return "undefined"
    if isinstance(value, int) and value.bit_length() > 256:
        return f"<an integer of {budget.digits(value)} digits>"
    text = mask(_Short(mask).repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


class Expression:
    """A compiled bare expression (``when``, ``assert``) that can explain its value."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._fn = _expression_renderer(source)
        found: dict[str, None] = {}
        _probes(_parse_expression(source), found)
        self._probes = [(name, _expression_renderer(name)) for name in found]

    def value(self, ctx: Mapping[str, Any]) -> Any:
        """The expression's value; raises jinja2's UndefinedError for an undefined name."""
        return self._fn(ctx)

    def holds(self, ctx: Mapping[str, Any]) -> bool:
        """The expression's truth."""
        return bool(self.value(ctx))

    def explain(self, ctx: Mapping[str, Any], mask: Callable[[str], str] = _unmasked) -> str:
        """``name = value`` for every variable the expression reads (for failure messages).

        ``mask`` masks secrets in every string before a long value is cut.
        """
        shown = []
        for name, probe in self._probes:
            try:
                value = probe(ctx)
            except Exception:  # an undefined parent, a sandbox refusal: show what we can
                value = Undefined()
            shown.append(f"{name} = {_show(value, mask)}")
        return ", ".join(shown)
