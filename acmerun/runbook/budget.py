"""The render budget: how much one render of a runbook's templates may compute and create.

A render is one call of a compiled template or expression (a step's ``args``
together, a ``when``, an ``assert``, a ``group_by``). The sandbox
(``acmerun.runbook.sandbox``) asks the render's ``Budget`` before every operation
a template can make expensive: arithmetic, calls of filters and methods, string
joins, loop iterations, output. Sizes are checked *before* computing, from an
estimate of the result (``9 ** n`` from ``n * log2(9)``, ``'x' * n`` from
``n * len('x')``), so no single operation can take long or allocate much, and a
template that would is refused with ``RenderBudgetExceeded`` naming the bound.

    RenderBudgetExceeded      a bound below was reached (the step fails)
     └── RenderDeadline       the caller's deadline (the step's ``timeout``) passed
    RenderInterrupted         the caller's stop event was set (the run is stopping)

Sizes are in characters of the value as printed (a list counts its items as
printed, so a list holding the same big string twice counts it twice); an int's
size is its number of decimal digits.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator, KeysView, Mapping, Set, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn

from jinja2.runtime import Undefined
from jinja2.utils import Namespace

#: operations (calls, filters, tests, arithmetic, joins, loop iterations, outputs) per render
MAX_OPERATIONS = 1_000_000
#: seconds one render may take, whatever the step's ``timeout``
MAX_RENDER_SECONDS = 1.0
#: bits of an integer a template computes (about 30,000 decimal digits)
MAX_INT_BITS = 100_000
#: characters (as printed) of any value a template computes
MAX_VALUE_SIZE = 1_000_000
#: characters a render outputs
MAX_OUTPUT_SIZE = 1_000_000
#: characters of all the values a render computes, together
MAX_CREATED_SIZE = 16_000_000
#: items of a ``range()``
MAX_RANGE = 100_000
#: digits of a number parsed from a string (``|int``, ``|version_tuple``)
MAX_NUMBER_DIGITS = 4_300

_DIGITS_PER_BIT = math.log10(2)
#: sizes are not counted past this (every bound is below it)
_CAP = max(MAX_VALUE_SIZE, MAX_OUTPUT_SIZE) + 1
#: operations between two reads of the clock
_CLOCK_EVERY = 16


class RenderBudgetExceeded(Exception):
    """A template went past a bound of the render budget."""

    def __init__(self, kind: str, source: str, detail: str) -> None:
        super().__init__(f"{kind} {shorten(source)!r} exceeds the render budget: {detail}")
        self.source = source
        self.detail = detail


class RenderDeadline(RenderBudgetExceeded):
    """The caller's deadline (a step's ``timeout``) passed while a template was rendering."""


class RenderInterrupted(Exception):
    """The caller asked the render to stop (the run is being interrupted)."""

    def __init__(self) -> None:
        super().__init__("interrupted while rendering a template")


def shorten(source: str, width: int = 60) -> str:
    """``source`` on one line, cut to ``width`` characters."""
    text = " ".join(source.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def number(value: float) -> str:
    """``1234`` or ``1.2e9``: how a size appears in a budget error."""
    if value < 1_000_000:
        return str(int(value))
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def digits(value: int) -> int:
    """Decimal digits of ``value`` (estimated from its bits, never too low by more than 1)."""
    return int(abs(value).bit_length() * _DIGITS_PER_BIT) + 1


class Budget:
    """The state of one render: operations made, sizes counted, the deadline."""

    def __init__(
        self,
        kind: str = "template",
        source: str = "",
        seconds: float | None = None,
        stop: Any = None,
    ) -> None:
        self.kind = kind
        self.source = source
        self.operations = 0
        self.output = 0
        self.created = 0
        now = time.monotonic()
        self._cap_at = now + MAX_RENDER_SECONDS
        self._caller_at = None if seconds is None else now + max(0.0, seconds)
        self._stop: threading.Event | None = stop
        # id -> (the container, its size, its depth): containers are immutable in the sandbox
        self._sizes: dict[int, tuple[Any, int, int]] = {}

    def refuse(self, detail: str) -> NoReturn:
        """Raise ``RenderBudgetExceeded`` for the current template."""
        raise RenderBudgetExceeded(self.kind, self.source, detail)

    def tick(self) -> None:
        """Count one operation; refuse past the operation count, the time cap or the deadline."""
        self.operations += 1
        if self.operations > MAX_OPERATIONS:
            self.refuse(f"more than {MAX_OPERATIONS} operations (limit {MAX_OPERATIONS})")
        if self._stop is not None and self._stop.is_set():
            raise RenderInterrupted()
        if self.operations % _CLOCK_EVERY == 1:
            self.check_clock()

    def check_clock(self) -> None:
        """Refuse when the render is past its time cap or the caller's deadline."""
        now = time.monotonic()
        if (
            self._caller_at is not None
            and now >= self._caller_at
            and self._caller_at < self._cap_at
        ):
            raise RenderDeadline(
                self.kind, self.source, "the step's timeout ran out while rendering"
            )
        if now >= self._cap_at:
            limit = f"{MAX_RENDER_SECONDS:g}s"
            self.refuse(f"still rendering after {limit} (limit {limit})")

    # -- sizes ---------------------------------------------------------------------------

    def size(self, value: Any) -> int:
        """The size of ``value`` as printed, in characters (counted up to just past every bound)."""
        return self._measure(value)[0]

    def depth(self, value: Any) -> int:
        """How deep ``value``'s containers nest (0 for a scalar)."""
        return self._measure(value)[1]

    def check_size(self, value: Any, what: str = "a value") -> int:
        """The size of ``value``; refused when it is over ``MAX_VALUE_SIZE``."""
        size = self.size(value)
        if size >= _CAP:
            self.refuse(f"{what} of more than {MAX_VALUE_SIZE} characters (limit {MAX_VALUE_SIZE})")
        if size > MAX_VALUE_SIZE:
            self.refuse(f"{what} of {number(size)} characters (limit {MAX_VALUE_SIZE})")
        return size

    def check_estimate(self, estimate: float, what: str) -> None:
        """Refuse an operation whose result would be over ``MAX_VALUE_SIZE`` characters."""
        if estimate > MAX_VALUE_SIZE:
            self.refuse(f"{what} would be {number(estimate)} characters (limit {MAX_VALUE_SIZE})")

    def check_bits(self, bits: float, what: str) -> None:
        """Refuse an integer result of more than ``MAX_INT_BITS`` bits."""
        if bits > MAX_INT_BITS:
            self.refuse(f"{what} would have {number(bits)} bits (limit {MAX_INT_BITS})")

    def made(self, value: Any) -> Any:
        """Check a computed value (size, integer bits), count it as created; ``value``."""
        if type(value) is int:
            self.check_bits(value.bit_length(), "an integer")
            return value
        size = self.check_size(value)
        self.created += size
        if self.created > MAX_CREATED_SIZE:
            self.refuse(
                f"the values it computes would be {number(self.created)} characters in all"
                f" (limit {MAX_CREATED_SIZE})"
            )
        return value

    def emit(self, value: Any) -> Any:
        """Count ``value`` as output (a ``{{ }}``); ``value``."""
        self.tick()
        self.emit_text(self.size(value))
        return value

    def emit_text(self, size: int) -> None:
        """Count ``size`` characters of template text as output."""
        self.output += size
        if self.output > MAX_OUTPUT_SIZE:
            self.refuse(
                f"its output would be over {MAX_OUTPUT_SIZE} characters (limit {MAX_OUTPUT_SIZE})"
            )

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """``iterable``, one operation counted per item (a ``{% for %}`` loop)."""
        for item in iterable:
            self.tick()
            yield item

    def _measure(self, value: Any) -> tuple[int, int]:
        scalar = _scalar_size(value)
        if scalar is not None:
            return scalar, 0
        found = self._sizes.get(id(value))
        if found is not None:
            return found[1], found[2]
        return self._walk(value)

    def _walk(self, root: Any) -> tuple[int, int]:
        """Sizes of containers, children first, each container measured once per render."""
        sizes = self._sizes
        stack: list[tuple[Any, list[Any] | None]] = [(root, None)]
        open_: set[int] = set()
        volatile: set[int] = set()
        try:
            while stack:
                obj, items = stack.pop()
                key = id(obj)
                if items is None:
                    if key in sizes:
                        continue
                    if key in open_:  # a namespace holding itself: it prints forever
                        return _CAP, 1
                    if 3 * _length(obj) >= _CAP:
                        sizes[key] = (obj, _CAP, 1)
                        continue
                    items = _children(obj)
                    open_.add(key)
                    stack.append((obj, items))
                    stack.extend((c, None) for c in items if _scalar_size(c) is None)
                    continue
                open_.discard(key)
                total, deepest = 2 + _overhead(obj), 0
                mutable = isinstance(obj, Namespace)
                for child in items:
                    size = _scalar_size(child)
                    if size is None:
                        _, size, depth = sizes[id(child)]
                        deepest = max(deepest, depth)
                        mutable = mutable or id(child) in volatile
                    total += size + 2
                    if total >= _CAP:
                        total = _CAP
                        break
                sizes[key] = (obj, total, deepest + 1)
                if mutable:
                    volatile.add(key)
            return sizes[id(root)][1], sizes[id(root)][2]
        finally:
            for key in volatile:  # a namespace can change: measure it again next time
                sizes.pop(key, None)


def _scalar_size(value: Any) -> int | None:
    kind = type(value)
    if kind is str or kind is bytes or isinstance(value, (str, bytes)):
        return len(value)
    if kind is int:
        return digits(value)
    if kind is float or kind is bool or value is None:
        return 8
    if isinstance(value, Undefined):
        return 0
    if isinstance(value, int):
        return digits(int(value))
    if isinstance(value, (list, tuple, Mapping, Set, KeysView, ValuesView, Namespace)):
        return None
    return 32  # ranges, functions, generators, loop objects, cyclers: printed short


def _attrs(obj: Any) -> Any:
    if isinstance(obj, Namespace):
        return obj._Namespace__attrs
    return obj


def _length(obj: Any) -> int:
    return len(_attrs(obj))


def _children(obj: Any) -> list[Any]:
    obj = _attrs(obj)
    if isinstance(obj, Mapping):
        return [*obj.keys(), *obj.values()]
    return list(obj)


def _overhead(obj: Any) -> int:
    return 12 if isinstance(obj, Namespace) else 0


_active: ContextVar[Budget | None] = ContextVar("acmerun_render_budget", default=None)


def current() -> Budget:
    """The running render's budget (outside a render: a fresh one, for its size checks)."""
    budget = _active.get()
    return Budget() if budget is None else budget


@contextmanager
def scope(
    kind: str, source: str, seconds: float | None = None, stop: Any = None
) -> Iterator[Budget]:
    """A render of ``source``: a new budget, or the enclosing render's one (shared)."""
    budget = _active.get()
    if budget is None:
        budget = Budget(kind, source, seconds, stop)
        token = _active.set(budget)
        try:
            yield budget
        finally:
            _active.reset(token)
        return
    outer = (budget.kind, budget.source)
    budget.kind, budget.source = kind, source
    try:
        yield budget
    finally:
        budget.kind, budget.source = outer


@contextmanager
def limits(seconds: float | None = None, stop: Any = None) -> Iterator[None]:
    """Renders inside share one budget, ending within ``seconds``, stopped when ``stop`` is set."""
    if _active.get() is not None:
        raise RuntimeError("render limits are already set for this render")
    token = _active.set(Budget(seconds=seconds, stop=stop))
    try:
        yield
    finally:
        _active.reset(token)
