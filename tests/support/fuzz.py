"""Hypothesis strategies for broken runbooks: mutated and damaged copies of the shipped ones.

Shared by the loader's fuzz tests (``tests/unit/runbook``) and the CLI's
(``tests/reliability``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

WORDS = [
    "name", "steps", "task", "args", "when", "register", "assert", "retries", "delay",
    "backoff", "timeout", "ignore_errors", "tags", "inventory", "filter", "or", "not",
    "strategy", "rolling", "group_by", "serial", "vars", "version", "acmeos.get_version",
    "acmeos.upgrade_os", "{{ x }}", "{{ x", "res.cpu < 80", "_x", "whn", "",
]  # fmt: skip
scalars = st.one_of(
    st.sampled_from(WORDS), st.integers(-2, 5), st.booleans(), st.none(), st.floats(-1, 2)
)
REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    [
        *(REPO / "runbooks").glob("*.yml"),
        REPO / "tests/data/audit.yml",
        REPO / "tests/data/upgrade.yml",
    ]
)
#: the shipped runbooks that stand alone (an ``include`` is read relative to the runbook's
#: file, and the fuzz tests load their text under another name)
SHIPPED_DATA = [yaml.safe_load(p.read_text()) for p in SHIPPED if "include:" not in p.read_text()]

#: values of the wrong type, broken templates, and templates that reach for Python internals
BAD_VALUES = [
    5, -1, 0.5, True, None, [], {}, ["x"], {"x": 1}, "", "x" * 300,
    "{{ x", "{% if %}", "{{ x }", "{# x", "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}", "{{ lipsum.__globals__['os'] }}",
    "{{ self.__init__ }}", "{{ range.__class__ }}", "{{ x|attr('__class__') }}",
    "{{ x['__class__'] }}", "res.cpu <", "{{ res.cpu < 80 }}", "__import__('os')",
    "not " * 80 + "x", "(" * 80 + "1" + ")" * 80, "acmeos.nope", "os:system", "a.b:c",
    "6.0", "5.4.1", "10%", "200%", "-3",
]  # fmt: skip
KEYS = ["name", "steps", "task", "args", "when", "register", "assert", "retries", "delay",
        "timeout", "strategy", "rolling", "group_by", "max_down", "on_failure", "serial",
        "inventory", "filter", "vars", "tags", "whn", "taks", "__class__"]  # fmt: skip
TAGS = ["!!int", "!!float", "!!bool", "!!null", "!!python/object:os.system",
        "!!python/object/apply:os.system", "!!python/name:os.system",
        "!!binary", "!!set", "!!omap", "!custom", "!!timestamp", "!!str", "!!int"]  # fmt: skip


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found.extend(_paths(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.extend(_paths(value, (*path, i)))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _nest(value: Any, depth: int) -> Any:
    for i in range(depth):
        value = [value] if i % 2 else {"steps": value}
    return value


@st.composite
def mutated_runbooks(draw: st.DrawFn) -> str:
    """A shipped runbook with one to four of its values replaced, removed or added."""
    data = copy.deepcopy(draw(st.sampled_from(SHIPPED_DATA)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        parent = _parent(data, path)
        action = draw(st.sampled_from(["set", "set", "delete", "unknown", "nest"]))
        if action == "set":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(BAD_VALUES) | scalars))
        elif action == "delete":
            del parent[path[-1]]
        elif action == "unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(st.sampled_from(BAD_VALUES)))
        elif action == "nest":
            parent[path[-1]] = _nest(parent[path[-1]], draw(st.integers(2, 80)))
    return yaml.safe_dump(data, sort_keys=False)


@st.composite
def damaged_texts(draw: st.DrawFn) -> bytes:
    """A shipped runbook's bytes with a YAML tag, a bad byte, a cut or a repeat put in."""
    raw = draw(st.sampled_from(SHIPPED)).read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["tag", "byte", "cut", "repeat", "anchor"]))
        if action == "tag":
            colon = raw.find(b": ", at)
            if colon >= 0:
                tag = draw(st.sampled_from(TAGS)).encode()
                raw = raw[: colon + 2] + tag + b" " + raw[colon + 2 :]
        elif action == "byte":
            raw = raw[:at] + bytes([draw(st.integers(0x80, 0xFF))]) + raw[at:]
        elif action == "cut":
            raw = raw[:at]
        elif action == "repeat":
            raw = raw[:at] + raw[at : at + draw(st.integers(1, 200))] * 2 + raw[at:]
        else:
            raw = raw[:at] + draw(st.sampled_from([b"&a ", b"*a ", b"<<: *a\n", b"? "])) + raw[at:]
    return raw
