"""Whatever a file holds, loading it gives a runbook or error lines: never a traceback.

Hypothesis runs derandomized (the same cases on every CI run): random YAML, random
bytes, and mutations of the shipped runbooks (wrong types, missing and unknown keys,
broken or sandbox-escaping templates, deep nesting, YAML tags, non-UTF-8 bytes, cut
files, huge files). Bad ``-e`` values and ``--limit`` patterns are fuzzed the same way.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from acmerun.errors import BadOptions, RunbookInvalid
from acmerun.extra_vars import parse_extra_vars
from acmerun.limit import select
from acmerun.runbook import load_runbook_text
from acmerun.runbook.compiler import compile_runbook
from tests.support.fuzz import SHIPPED_DATA, WORDS, damaged_texts, mutated_runbooks, scalars

LINE = re.compile(r"^f\.yml:\d+:\d+: .+$|^f\.yml:\d+:\d+: [^:]+: .+$")

documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(WORDS), inner, max_size=5)
    ),
    max_leaves=30,
)


def check(text: str | bytes) -> bool:
    """The property: a runbook that compiles, or located error lines. True when valid."""
    try:
        runbook = load_runbook_text(text, "f.yml")
    except RunbookInvalid as invalid:
        assert invalid.errors
        for line in invalid.errors:
            assert LINE.match(line), line
            assert "\n" not in line and "Traceback" not in line
        return False
    compile_runbook(runbook, extra_vars={}, tags=(), skip_tags=())
    return True


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(documents)
def test_any_yaml_document(document: Any) -> None:
    check(yaml.safe_dump(document))


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=80) | st.text(max_size=80))
def test_any_bytes_or_text(raw: bytes | str) -> None:
    check(raw)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.dictionaries(st.sampled_from(WORDS), scalars, max_size=6), max_size=4))
def test_any_list_of_steps(steps: list[dict[str, Any]]) -> None:
    check(yaml.safe_dump({"name": "fuzz", "steps": steps}))


@settings(max_examples=900, deadline=None, derandomize=True, database=None)
@given(mutated_runbooks())
def test_mutated_shipped_runbooks(text: str) -> None:
    check(text)


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(damaged_texts())
def test_damaged_shipped_runbooks(raw: bytes) -> None:
    check(raw)


@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(st.integers(200, 1000), st.sampled_from(SHIPPED_DATA))
def test_huge_runbooks_are_read(copies: int, data: dict[str, Any]) -> None:
    huge = dict(data, steps=data["steps"] * copies)
    assert check(yaml.safe_dump(huge, sort_keys=False))


BOMB = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "f"), ("f", "g"), ("g", "h")]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        "a:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(3000)),
        "&a [*a]",
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in BOMB),
        "name: x\nsteps:\n  - task: acmeos.get_version\n    when: " + "(" * 3000 + "1" + ")" * 3000,
        "name: x\nsteps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ "
        + "x." * 3000
        + "y }}'}",
    ],
    ids=["deep-flow", "deep-block", "self-alias", "alias-bomb", "deep-expression", "deep-template"],
)
def test_documents_that_would_exhaust_the_stack_or_memory(text: str) -> None:
    assert check(text) is False


@settings(max_examples=250, deadline=None, derandomize=True, database=None)
@given(st.lists(st.text(max_size=40) | st.sampled_from(
    ["=", "x=", "=1", "@", "@/nonexistent", "{", "[1]", "{a: [", "x=[1", "1x=2", "x y=1",
     '{"__class__": 1}', "x=!!python/object:os.system", "x=\xff", "@/dev/null", "{a: *b}"]
), max_size=3))  # fmt: skip
def test_bad_extra_vars_are_one_clear_line(values: list[str]) -> None:
    try:
        parsed = parse_extra_vars(values)
    except BadOptions as error:
        message = str(error)
        assert message.startswith("-e ") and "\n" not in message and "Traceback" not in message
    else:
        assert isinstance(parsed, dict)
        assert all(isinstance(k, str) and k.isidentifier() for k in parsed)


HOSTS = {
    f"{kind}{i:02d}.{site}": {site, kind}
    for kind in ("edge", "leaf")
    for i in range(3)
    for site in ("earth", "mars")
}


@settings(max_examples=250, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet="!&@*?[]-,:^.edgafrthms01 \\", max_size=20))
def test_bad_limit_patterns_are_one_clear_line(limit: str) -> None:
    try:
        chosen = select(limit, HOSTS)
    except BadOptions as error:
        assert str(error).startswith("--limit") and "\n" not in str(error)
    else:
        assert chosen and set(chosen) <= set(HOSTS)
