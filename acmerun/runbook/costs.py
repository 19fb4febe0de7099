"""What template operations would cost, estimated before they run (see ``acmerun.runbook.budget``).

Each check raises ``RenderBudgetExceeded`` through the budget when the result of an
operation would be over a bound: ``binop`` for arithmetic, ``check_method`` for the
methods of strings and integers, ``ESTIMATES`` for the filters that pad, repeat,
indent, join, format or parse numbers. An estimate is an upper bound of the size of
the result, computed from the sizes of the operands, never by trying.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from string import Formatter
from typing import Any

from jinja2.filters import make_attrgetter
from jinja2.runtime import Context

from acmerun.runbook import budget as bounds
from acmerun.runbook.budget import MAX_NUMBER_DIGITS, Budget

_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
_NUMBERS = re.compile(r"\d+")
#: what formatting one value may add besides its own size (a float's digits, a sign)
_FIELD = 400
#: filters whose inputs may be of any size: they do not copy or print them
CHEAP = frozenset(
    {"abs", "attr", "count", "d", "default", "first", "last", "length", "map", "max", "min"}
    | {"random", "reject", "rejectattr", "safe", "select", "selectattr", "items"}
)


def show(value: Any) -> str:
    """A short description of an operand for a budget error."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return (
            repr(value)
            if value.bit_length() <= 64
            else f"<an integer of {bounds.digits(value)} digits>"
        )
    if isinstance(value, (str, bytes)):
        return repr(value) if len(value) <= 20 else f"{value[:17]!r}..."
    if isinstance(value, (list, tuple, Mapping)):
        items = "item" if len(value) == 1 else "items"
        return f"<a {type(value).__name__} of {len(value)} {items}>"
    return f"<{type(value).__name__}>"


#: a width or count past every bound (kept a float-sized number)
_HUGE = 10**18


def _count(text: str) -> int:
    return _HUGE if len(text) > 18 else int(text)


def spec_width(spec: str) -> int:
    """What the widths and precisions of a format spec may add to a field."""
    return _FIELD + sum(_count(n) for n in _NUMBERS.findall(spec))


def _ints(values: Iterable[Any]) -> int:
    return sum(min(abs(v), _HUGE) for v in values if type(v) is int)


def _biggest(budget: Budget, values: list[Any]) -> int:
    return max((budget.check_size(v) for v in values), default=0)


def printf_size(budget: Budget, fmt: str | bytes, args: Any) -> float:
    """Upper bound of the size of ``fmt % args``."""
    values = (
        list(args.values())
        if isinstance(args, Mapping)
        else list(args)
        if isinstance(args, tuple)
        else [args]
    )
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    biggest, stars = _biggest(budget, values), _ints(values)
    total: float = len(text)
    for match in _PRINTF.finditer(text):
        width, precision, conversion = match.groups()
        if conversion == "%":
            continue
        total += biggest + _FIELD
        for given in (width, precision):
            total += stars if given == "*" else _count(given) if given else 0
        if total > bounds.MAX_VALUE_SIZE:
            break
    return total


def format_size(
    budget: Budget, fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> float:
    """Upper bound of the size of ``fmt.format(*args, **kwargs)``."""
    values = [*args, *kwargs.values()]
    biggest, stars = _biggest(budget, values), _ints(values)
    total: float = len(fmt)
    try:
        for _, field, spec, _ in Formatter().parse(fmt):
            if field is None:
                continue
            total += biggest + _FIELD + sum(_count(n) for n in _NUMBERS.findall(spec or ""))
            total += stars if spec and "{" in spec else 0
            if total > bounds.MAX_VALUE_SIZE:
                break
    except ValueError:
        pass  # a malformed format: the call itself says what is wrong
    return total


def _arg(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any
) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _replace_size(text: Any, old: Any, new: Any, count: Any) -> float:
    if not isinstance(old, (str, bytes)) or not isinstance(new, (str, bytes)):
        return 0
    found = len(text) + 1 if not old else len(text) // len(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


# -- methods called from templates -----------------------------------------------------


def check_method(
    budget: Budget, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse a method call whose result would be too big; the (possibly materialized) args."""
    owner = getattr(target, "__self__", None)
    name = getattr(target, "__name__", "")
    if isinstance(owner, (str, bytes)):
        budget.check_size(owner)
        what = f"{show(owner)}.{name}(...)"
        if name in ("center", "ljust", "rjust", "zfill"):
            width = _arg(args, kwargs, 0, "width", 0)
            if isinstance(width, int):
                budget.check_estimate(max(len(owner), width), what)
        elif name == "expandtabs":
            size = _arg(args, kwargs, 0, "tabsize", 8)
            if isinstance(size, int):
                tab = "\t" if isinstance(owner, str) else b"\t"
                budget.check_estimate(len(owner) + owner.count(tab) * max(size, 0), what)  # type: ignore[arg-type]
        elif name == "replace" and len(args) >= 2:
            budget.check_estimate(
                _replace_size(owner, args[0], args[1], _arg(args, kwargs, 2, "count", -1)), what
            )
        elif name == "join" and args:
            items = list(args[0])
            sizes = sum(budget.check_size(i) for i in items)
            budget.check_estimate(sizes + len(owner) * max(len(items) - 1, 0), what)
            args = (items, *args[1:])
        elif name == "format" and isinstance(owner, str):
            budget.check_estimate(format_size(budget, owner, args, kwargs), what)
        elif name == "format_map" and isinstance(owner, str) and args:
            values = args[0] if isinstance(args[0], Mapping) else {"": args[0]}
            budget.check_estimate(format_size(budget, owner, (), values), what)
        elif name == "translate" and args and isinstance(args[0], Mapping):
            widest = max((budget.check_size(v) for v in args[0].values()), default=1)
            budget.check_estimate(len(owner) * max(widest, 1), what)
    elif isinstance(owner, int) and name == "to_bytes":
        length = _arg(args, kwargs, 0, "length", 1)
        if isinstance(length, int):
            budget.check_estimate(length, f"({show(owner)}).to_bytes({length})")
    return args


# -- filters ---------------------------------------------------------------------------

Call = tuple[Any, tuple[Any, ...], dict[str, Any]]


def _mapped(context: Context, value: Any, attribute: Any) -> list[Any]:
    items = list(value)
    if attribute is None:
        return items
    getter = make_attrgetter(context.environment, attribute)
    return [getter(item) for item in items]


def _center(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    width = _arg(args, kw, 0, "width", 80)
    if isinstance(width, int):
        b.check_estimate(max(b.size(value), width), f"center({show(width)})")
    return value, args, kw


def _indent(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    width = _arg(args, kw, 0, "width", 4)
    step = b.size(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    lines = str(value).count("\n") + 1
    b.check_estimate(b.size(value) + lines * max(step, 0), f"indent({show(width)})")
    return value, args, kw


def _format(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    b.check_estimate(printf_size(b, str(value), kw or args), "format(...)")
    return value, args, kw


def _join(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    separator = _arg(args, kw, 0, "d", "")
    items = _mapped(c, value, _arg(args, kw, 1, "attribute", None))
    sizes = sum(b.check_size(i) for i in items)
    b.check_estimate(sizes + b.size(separator) * max(len(items) - 1, 0), "join(...)")
    return items, (separator,), {}


def _replace(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    if len(args) >= 2:
        count = _arg(args, kw, 2, "count", None)
        b.check_estimate(
            _replace_size(str(value), str(args[0]), str(args[1]), count), "replace(...)"
        )
    return value, args, kw


def _wordwrap(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    width = _arg(args, kw, 0, "width", 79)
    wrap = _arg(args, kw, 2, "wrapstring", None)
    text = str(value)
    if isinstance(width, int) and isinstance(wrap, str):
        lines = 2 * len(text) / max(width - 1, 1) + text.count("\n") + 2
        b.check_estimate(len(text) + lines * len(wrap), f"wordwrap({show(width)}, ...)")
    return value, args, kw


def _batch(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    count = _arg(args, kw, 0, "linecount", 1)
    fill = _arg(args, kw, 1, "fill_with", None)
    if isinstance(count, int) and fill is not None:
        b.check_estimate(b.size(value) + count * (b.size(fill) + 2), f"batch({show(count)}, ...)")
    return value, args, kw


def _slice(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    count = _arg(args, kw, 0, "slices", 1)
    fill = _arg(args, kw, 1, "fill_with", None)
    if isinstance(count, int):
        each = 4 + (0 if fill is None else b.size(fill))
        b.check_estimate(b.size(value) + count * each, f"slice({show(count)}, ...)")
    return value, args, kw


def _tojson(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    indent = _arg(args, kw, 0, "indent", None)
    step = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    size = b.size(value)
    b.check_estimate(6 * size + size * b.depth(value) * max(step, 0), "tojson(...)")
    return value, args, kw


def _urlize(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    text = str(value)
    extra = sum(b.size(_arg(args, kw, i, n, "")) for i, n in ((2, "target"), (3, "rel")))
    links = sum(1 for word in text.split() if "." in word or "@" in word or ":" in word)
    b.check_estimate(2 * len(text) + links * (extra + 64), "urlize(...)")
    return value, args, kw


def _pprint(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    size = b.size(value)
    b.check_estimate(2 * size + size * b.depth(value), "pprint")
    return value, args, kw


def _sum(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    start = _arg(args, kw, 1, "start", 0)
    if isinstance(start, (int, float)):
        return value, args, kw
    items = _mapped(c, value, _arg(args, kw, 0, "attribute", None))
    result = b.check_size(start) + sum(b.check_size(i) for i in items)
    b.check_estimate(result, "sum(...)")
    # adding sequences copies the sum so far once per item
    b.check_estimate(result * len(items) / 16, "the copies sum(...) makes")
    return items, (), {"start": start}


def _round(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    precision = _arg(args, kw, 0, "precision", 0)
    if type(value) is int and isinstance(precision, int) and precision < 0:
        b.check_bits(-precision * math.log2(10), f"round({show(value)}, {show(precision)})")
    return value, args, kw


def _number(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    if isinstance(value, (str, bytes)) and len(value) > MAX_NUMBER_DIGITS:
        b.refuse(f"a number parsed from {len(value)} characters (limit {MAX_NUMBER_DIGITS} digits)")
    return value, args, kw


def _version(b: Budget, c: Context, value: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Call:
    longest = max((len(part) for part in str(value).split(".")), default=0)
    if longest > MAX_NUMBER_DIGITS:
        b.refuse(f"a number parsed from {longest} characters (limit {MAX_NUMBER_DIGITS} digits)")
    return value, args, kw


ESTIMATES: dict[str, Callable[[Budget, Context, Any, tuple[Any, ...], dict[str, Any]], Call]] = {
    "center": _center,
    "indent": _indent,
    "format": _format,
    "join": _join,
    "replace": _replace,
    "wordwrap": _wordwrap,
    "batch": _batch,
    "slice": _slice,
    "tojson": _tojson,
    "pprint": _pprint,
    "urlize": _urlize,
    "sum": _sum,
    "round": _round,
    "int": _number,
    "version_tuple": _version,
}


def binop(budget: Budget, operator: str, left: Any, right: Any) -> None:
    """Refuse ``left OPERATOR right`` when its result would be over a bound (before computing)."""
    numbers = isinstance(left, int) and isinstance(right, int)
    what = f"{show(left)} {operator} {show(right)}"
    if operator == "**" and numbers:
        if right > 0 and abs(left) > 1:
            budget.check_bits(right * math.log2(abs(left)), what)
    elif operator == "*":
        if numbers:
            budget.check_bits(left.bit_length() + right.bit_length(), what)
        elif isinstance(right, int) and isinstance(left, (str, bytes, list, tuple)):
            budget.check_estimate(budget.check_size(left) * max(right, 0), what)
        elif isinstance(left, int) and isinstance(right, (str, bytes, list, tuple)):
            budget.check_estimate(budget.check_size(right) * max(left, 0), what)
    elif operator == "+" and not numbers:
        if isinstance(left, (str, bytes, list, tuple)) and isinstance(
            right, (str, bytes, list, tuple)
        ):
            budget.check_estimate(budget.check_size(left) + budget.check_size(right), what)
    elif operator == "%" and isinstance(left, (str, bytes)):
        budget.check_size(left)
        budget.check_estimate(printf_size(budget, left, right), f"{show(left)} % ...")
