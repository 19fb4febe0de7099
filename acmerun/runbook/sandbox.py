"""The Jinja2 sandbox runbook templates run in: immutable, and bounded by the render budget.

``BoundedEnvironment`` is Jinja2's ``ImmutableSandboxedEnvironment`` whose every
costly operation asks the render's ``Budget`` (``acmerun.runbook.budget``) first:

- arithmetic (``call_binop``): ``**`` and ``*`` on integers by the bits of the
  result, ``*`` on strings and lists by the size of the result, ``+`` on strings
  and lists, ``%`` formatting by its widths and precisions;
- calls (``call``): string methods that pad, replace, join, format or translate
  by the size of their result, ``int.to_bytes`` by its length; every result checked;
- filters and tests (each wrapped): their inputs and results checked, and the
  ones that pad, repeat, indent, join or parse numbers estimated first;
- ``~`` joins, ``{% for %}`` iterations (with the text the loop body writes),
  ``{{ }}`` outputs, ``range()`` and ``lipsum()``.

Nothing is evaluated when a template is compiled: constant folding is off, and
filters and tests are marked as needing the render's context, which Jinja2 never
folds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, LoopContext, markup_join, str_join
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import _PassArg, generate_lorem_ipsum
from markupsafe import Markup

from acmerun.runbook import budget as bounds
from acmerun.runbook.budget import MAX_RANGE, current
from acmerun.runbook.costs import CHEAP, ESTIMATES, binop, check_method, spec_width


def _first_arg(fn: Callable[..., Any], context: Context) -> tuple[Any, ...]:
    pass_arg = _PassArg.from_obj(fn)
    if pass_arg is _PassArg.context:
        return (context,)
    if pass_arg is _PassArg.eval_context:
        return (context.eval_ctx,)
    if pass_arg is _PassArg.environment:
        return (context.environment,)
    return ()


def bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as a filter that asks the render budget first and checks what it returns."""
    estimate = ESTIMATES.get(name)
    check_inputs = name not in CHEAP

    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.tick()
        if check_inputs:
            for each in (value, *args, *kwargs.values()):
                budget.check_size(each, f"the input of |{name}")
        if estimate is not None:
            value, args, kwargs = estimate(budget, context, value, args, kwargs)
        return budget.made(fn(*_first_arg(fn, context), value, *args, **kwargs))

    bounded.__name__ = bounded.__qualname__ = name
    bounded.__doc__ = fn.__doc__
    return pass_context(bounded)


def bounded_test(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as a test that counts as one operation of the render."""

    def bounded(context: Context, *args: Any, **kwargs: Any) -> Any:
        current().tick()
        return fn(*_first_arg(fn, context), *args, **kwargs)

    bounded.__name__ = bounded.__qualname__ = name
    bounded.__doc__ = fn.__doc__
    return pass_context(bounded)


# -- globals ---------------------------------------------------------------------------


def bounded_range(*args: int) -> range:
    """``range()`` of at most ``MAX_RANGE`` items."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        shown = ", ".join(str(a) for a in args)
        current().refuse(f"range({shown}) would have {len(numbers)} items (limit {MAX_RANGE})")
    return numbers


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """Jinja2's ``lipsum()``, refused when the text would be too long."""
    if isinstance(n, int) and isinstance(max, int):
        current().check_estimate(n * max * 12, f"lipsum({n}, max={max})")
    return str(generate_lorem_ipsum(n, html, min, max))


# -- str.format ------------------------------------------------------------------------


class _BoundedFields:
    """``str.format`` fields checked as they are formatted: their widths, the text so far."""

    made = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self.made = 0
        return super().vformat(format_string, args, kwargs)  # type: ignore[misc, no-any-return]

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = current()
        budget.tick()
        what = f"formatting a field with {{:{format_spec[:20]}}}"
        budget.check_estimate(budget.check_size(value) + spec_width(format_spec), what)
        text = super().format_field(value, format_spec)  # type: ignore[misc]
        self.made += len(text)
        budget.check_estimate(self.made, "the formatted fields")
        return text


class BoundedFormatter(_BoundedFields, SandboxedFormatter):
    """The sandbox's ``str.format``, bounded."""


class BoundedEscapeFormatter(_BoundedFields, SandboxedEscapeFormatter):
    """The sandbox's ``Markup.format``, bounded."""


def bounded_format(env: Any, value: Any) -> Callable[..., str] | None:
    """A bounded stand-in for ``str.format`` / ``str.format_map`` (else None)."""
    name = getattr(value, "__name__", None)
    owner = getattr(value, "__self__", None)
    if name not in ("format", "format_map") or not isinstance(owner, str):
        return None
    formatter: SandboxedFormatter
    if isinstance(owner, Markup):
        formatter = BoundedEscapeFormatter(env, escape=owner.escape)
    else:
        formatter = BoundedFormatter(env)
    kind = type(owner)

    def bounded(*args: Any, **kwargs: Any) -> str:
        if name != "format_map":
            return kind(formatter.vformat(owner, args, kwargs))
        if kwargs or len(args) != 1:
            raise TypeError("format_map() takes exactly one argument and no keywords")
        return kind(formatter.vformat(owner, (), args[0]))

    bounded.__name__ = name
    bounded.__wrapped__ = value  # type: ignore[attr-defined]
    return bounded


# -- the environment -------------------------------------------------------------------


def _loop_text(body: list[nodes.Node]) -> int:
    """Characters of template text a loop body writes per iteration (inner loops apart)."""
    total, stack = 0, list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif isinstance(node, nodes.For):
            stack.extend(node.else_)
        else:
            stack.extend(node.iter_child_nodes())
    return total


class BoundedCodeGenerator(CodeGenerator):
    """Jinja2's code generator, with loops and ``~`` joins counted by the render budget."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        """Every iteration counts, with the text the body writes."""
        counted = nodes.Call(
            nodes.EnvironmentAttribute("iterate"),
            [node.iter, nodes.Const(_loop_text(node.body))],
            [],
            None,
            None,
            lineno=node.lineno,
        )
        loop = nodes.For(
            node.target,
            counted,
            node.body,
            node.else_,
            node.test,
            node.recursive,
            lineno=node.lineno,
        )
        loop.set_environment(self.environment)
        super().visit_For(loop, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        """``a ~ b`` is checked before the join."""
        if frame.eval_ctx.volatile:
            markup = "context.eval_ctx.volatile"
        else:
            markup = "True" if frame.eval_ctx.autoescape else "False"
        self.write(f"environment.join({markup}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    return current().emit(value)


def _output(pieces: Iterable[str]) -> str:
    """The text of a render or a captured block, refused past ``MAX_OUTPUT_SIZE``."""
    kept: list[str] = []
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > bounds.MAX_OUTPUT_SIZE:
            current().refuse(
                f"its output would be over {bounds.MAX_OUTPUT_SIZE} characters (limit)"
            )
        kept.append(piece)
    return "".join(kept)


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the render budget enforced (see the module docstring)."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    code_generator_class = BoundedCodeGenerator
    concat = staticmethod(_output)

    def __init__(self, filters: Mapping[str, Callable[..., Any]]) -> None:
        super().__init__(
            undefined=StrictUndefined, autoescape=False, optimized=False, finalize=_finalize
        )
        self.filters.update(filters)
        self.filters = {n: bounded_filter(n, f) for n, f in self.filters.items()}
        tests = cast(dict[str, Callable[..., Any]], self.tests)
        self.tests = {n: bounded_test(n, f) for n, f in tests.items()}
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map`` as the sandbox's, with every field bounded."""
        return bounded_format(self, value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Arithmetic, refused when the result would be too big (checked before computing)."""
        budget = current()
        budget.tick()
        binop(budget, operator, left, right)
        return budget.made(self.binop_table[operator](left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from a template: costly methods estimated first, every result checked."""
        budget = current()
        budget.tick()
        if isinstance(__obj, LoopContext) and args:
            args = (budget.iterate(args[0]), *args[1:])
        target = getattr(__obj, "__wrapped__", __obj)
        args = check_method(budget, target, args, kwargs)
        return budget.made(super().call(__context, __obj, *args, **kwargs))

    def iterate(self, iterable: Iterable[Any], text: int) -> Iterator[Any]:
        """A loop's items, one operation each, the body's text counted as output."""
        budget = current()
        for item in iterable:
            budget.tick()
            if text:
                budget.emit_text(text)
            yield item

    def join(self, markup: bool, parts: tuple[Any, ...]) -> str:
        """``a ~ b ~ ...``, refused when the text would be too long."""
        budget = current()
        budget.tick()
        budget.check_estimate(sum(budget.check_size(p) for p in parts), "joining with ~")
        return budget.made(markup_join(parts) if markup else str_join(parts))  # type: ignore[no-any-return]
