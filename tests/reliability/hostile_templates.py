"""Hostile templates, generated: every render must end fast with a value or an error.

Run as a program (``python -m tests.reliability.hostile_templates EXAMPLES``) under a
memory limit by ``test_template_budget.py``: it renders that many generated
templates and prints one JSON line of what happened (outcomes, slowest render,
peak memory). A render that takes longer than ``SLOWEST`` fails it; a render that
would exhaust memory dies under the limit; a hang is stopped by the caller.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acmerun.runbook.templating import RenderBudgetExceeded, compile_value

#: seconds a render may take (the budget's time cap is 1 s)
SLOWEST = 2.0

NUMBERS = st.sampled_from(
    ["0", "1", "2", "9", "-9", "n", "m", "10**5", "99999999", "10**9", "(2**64)", "-10**7"]
)
TEXTS = st.sampled_from(["'x'", "''", "s", "big", "'ab\\t'", "'%s'", "'{}'", "'a b'"])

#: shapes of integer expressions over integers {0} {1} and a text {2}
INTEGERS = [
    "({0} ** {1})",
    "({0} * {1})",
    "({0} + {1})",
    "({0} // ({1} or 1))",
    "({0} - {1})",
    "({2})|length",
    "({2})|int",
    "{0}|round({1})|int",
    "({2}).count('x')",
    "[{0}, {1}]|max",
]
#: shapes of text (or list) expressions over integers {0} {1} and texts {2} {3}
TEXT_SHAPES = [
    "({2} * {0})",
    "({2} ~ {3})",
    "({2} + {3})",
    "('%' ~ {0} ~ 's') % 1",
    "{2}|center({0})",
    "({2}).ljust({0})",
    "({2}).zfill({0})",
    "({2}).expandtabs({0})",
    "({2}).replace('', {3})",
    "range({0})|join",
    "lipsum({0})",
    "([{2}] * {0})|join",
    "({2})|join({3})",
    "'{{:{{}}}}'.format(1, {0})",
    "({0})|string",
    "[{2}]|batch({0}, {3})|list|string",
    "[{2}]|slice({0})|list|string",
    "({2})|indent({0})",
    "({2})|wordwrap(1, true, {3})",
    "[{2}, {3}]|tojson({0})",
    "({2})|list|sort|join",
    "({2})|format({3})",
    "(1).to_bytes({0}, 'big')|string",
    "({2}).join([{3}] * {0})",
    "[[{2}] * {0}]|sum(start=[])",
    "({2})|upper",
    "namespace(v={2}).v",
    "dict(a={2}, b={3})|string",
    "({2}).translate({{120: {3}}})",
]


def _integers(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.builds(
            lambda shape, a, b, t: shape.format(a, b, t),
            st.sampled_from(INTEGERS),
            inner,
            inner,
            texts,
        )

    return st.recursive(NUMBERS, grow, max_leaves=4)


def expressions() -> st.SearchStrategy[str]:
    """Text expressions built from shapes that allocate, repeat and compute."""
    numbers = _integers(TEXTS)

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.builds(
            lambda shape, a, b, t, u: shape.format(a, b, t, u),
            st.sampled_from(TEXT_SHAPES),
            numbers,
            numbers,
            inner,
            inner,
        )

    return st.one_of(st.recursive(TEXTS, grow, max_leaves=5), numbers)


def templates() -> st.SearchStrategy[str]:
    e = expressions()
    return st.one_of(
        e.map(lambda x: "{{ " + x + " }}"),
        st.builds(
            lambda x, a, b: (
                f"{{% for i in range({a}) %}}{{% for j in range({b}) %}}{{{{ {x} }}}}"
                "{% endfor %}{% endfor %}"
            ),
            e,
            NUMBERS,
            NUMBERS,
        ),
        st.builds(
            lambda x, a: (
                f"{{% set ns = namespace(v={x}) %}}{{% for i in range({a}) %}}"
                "{% set ns.v = ns.v ~ ns.v %}{% endfor %}{{ ns.v|length }}"
            ),
            e,
            NUMBERS,
        ),
        st.builds(
            lambda x: f"{{% macro m(v) %}}{{{{ m(v) ~ m(v) }}}}{{% endmacro %}}{{{{ m({x}) }}}}",
            e,
        ),
        st.builds(lambda x, y: f"{x}{{{{ {y} }}}}" * 3, st.sampled_from(["a", "x" * 1000]), e),
    )


def main(examples: int) -> dict[str, Any]:
    """Render ``examples`` generated templates; what happened."""
    outcomes: Counter[str] = Counter()
    slowest = [0.0, ""]

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(template=templates(), n=st.sampled_from([0, 3, 64, 99999999, 10**6]))
    def render(template: str, n: int) -> None:
        variables = {"n": n, "m": n * 7 + 1, "s": "x" * 1000, "big": "y" * 500_000}
        started = time.monotonic()
        try:
            renderer = compile_value(template)
            assert renderer is not None
            renderer(variables)
            outcome = "value"
        except RenderBudgetExceeded:
            outcome = "budget"
        except MemoryError:
            raise
        except Exception as error:  # a template error the step reports (TypeError, ...)
            outcome = type(error).__name__
        took = time.monotonic() - started
        outcomes[outcome] += 1
        if took > slowest[0]:
            slowest[:] = [took, template]
        assert took < SLOWEST, f"{template!r} took {took:.2f}s"

    render()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "outcomes": dict(outcomes),
        "slowest": slowest,
        "peak_rss_mib": round(peak / 1024),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
