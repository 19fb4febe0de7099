"""Whatever a file holds, loading it gives a runbook or error lines: never a traceback."""

from __future__ import annotations

import re
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from acmerun.errors import RunbookInvalid
from acmerun.runbook import load_runbook_text

WORDS = [
    "name", "steps", "task", "args", "when", "register", "assert", "retries", "delay",
    "backoff", "timeout", "ignore_errors", "tags", "inventory", "filter", "or", "not",
    "strategy", "rolling", "group_by", "serial", "vars", "version", "acmeos.get_version",
    "acmeos.upgrade_os", "{{ x }}", "{{ x", "res.cpu < 80", "_x", "whn", "",
]  # fmt: skip
LINE = re.compile(r"^f\.yml:\d+:\d+: .+$|^f\.yml:\d+:\d+: [^:]+: .+$")

scalars = st.one_of(
    st.sampled_from(WORDS), st.integers(-2, 5), st.booleans(), st.none(), st.floats(-1, 2)
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(WORDS), inner, max_size=5)
    ),
    max_leaves=30,
)


def check(text: str | bytes) -> None:
    try:
        load_runbook_text(text, "f.yml")
    except RunbookInvalid as invalid:
        assert invalid.errors
        for line in invalid.errors:
            assert LINE.match(line), line
            assert "\n" not in line and "Traceback" not in line


@settings(max_examples=150, deadline=None)
@given(documents)
def test_any_yaml_document(document: Any) -> None:
    check(yaml.safe_dump(document))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=80) | st.text(max_size=80))
def test_any_bytes_or_text(raw: bytes | str) -> None:
    check(raw)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(WORDS), scalars, max_size=6), max_size=4))
def test_any_list_of_steps(steps: list[dict[str, Any]]) -> None:
    check(yaml.safe_dump({"name": "fuzz", "steps": steps}))
