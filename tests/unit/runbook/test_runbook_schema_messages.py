"""Every constraint of schema.json, broken on purpose, answers in acmerun's own words.

The test walks the schema from its root (properties, items, ``$ref``, the ``if``/``then``
of each built-in task), builds for every constraint it meets a runbook that breaks just that
one, and checks what ``acmerun validate`` would print: each line names its place
(``FILE:LINE:COLUMN: PATH:``), one names the broken value's path, and none carries a raw
``{placeholder}``, a JSON Schema keyword sentence or the library's name.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from acmerun.errors import RunbookInvalid
from acmerun.runbook.loader import load_runbook_text, schema
from acmerun.runbook.source import format_path

SCHEMA = schema()
BASE: dict[str, Any] = {"name": "t", "steps": [{"task": "acmeos.get_version"}]}
Path = tuple[str | int, ...]
#: (where the value goes, the task the step must run there, the constraint, the bad value)
Case = tuple[Path, "str | None", str, Any]
JSONSCHEMA_WORDS = re.compile(
    r"jsonschema|is greater than the maximum|is less than the minimum|less than or equal"
    r"|is not valid under any|should not be valid under|does not have enough|\{value\}"
)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SCHEMA
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _bad(constraint: str, limit: Any, node: dict[str, Any]) -> Any:
    """A value that breaks ``constraint`` (with its ``limit``), or None if none is built."""
    kind = node.get("type")
    if constraint == "type":
        kinds = [limit] if isinstance(limit, str) else list(limit)
        allowed = {*kinds, "integer"} if "number" in kinds else set(kinds)
        return next(v for k, v in _SAMPLES if k not in allowed)
    if constraint in ("minimum", "maximum", "exclusiveMinimum") and isinstance(limit, int | float):
        step = 1 if kind == "integer" else 0.5
        return {"minimum": limit - step, "maximum": limit + step, "exclusiveMinimum": limit}[
            constraint
        ]
    return {
        "enum": "not-a-choice",
        "const": "not-the-constant",
        "minLength": "",
        "pattern": "!! not this !!",
        "minItems": [],
        "minProperties": {},
        "uniqueItems": ["a", "a"],
        "required": {},
        "additionalProperties": {"no_such_key_here": 1},
    }.get(constraint)


#: a value of each JSON type
_SAMPLES = [
    ("string", "text"),
    ("integer", 12),
    ("number", 1.5),
    ("object", {}),
    ("array", []),
    ("boolean", True),
]


def _cases(
    node: dict[str, Any], path: Path, task: str | None, seen: frozenset[str] = frozenset()
) -> Iterator[Case]:
    ref = node.get("$ref")
    if ref in seen:
        return  # a recursive definition (nested steps, filters): walked once
    seen = seen | {ref} if isinstance(ref, str) else seen
    node = _resolve(node)
    for constraint, limit in node.items():
        if constraint == "additionalProperties" and limit is not False:
            continue
        if constraint == "uniqueItems" and limit is not True:
            continue
        bad = _bad(constraint, limit, node)
        if bad is not None and path:
            yield path, task, constraint, bad
    for key, child in node.get("properties", {}).items():
        yield from _cases(child, (*path, key), task, seen)
    if isinstance(node.get("items"), dict):
        yield from _cases(node["items"], (*path, 0), task, seen)
    for branch in node.get("allOf", []):
        when = branch.get("if", {}).get("properties", {}).get("task", {}).get("const")
        if "then" in branch:
            yield from _cases(branch["then"], path, when or task, seen)


def _place(path: Path, task: str | None, value: Any) -> dict[str, Any]:
    data: Any = copy.deepcopy(BASE)
    if task is not None and path[:2] == ("steps", 0):
        data["steps"][0]["task"] = task
    target = data
    for part, following in zip(path, (*path[1:], None), strict=True):
        if following is None:
            target[part] = value
        elif isinstance(target, dict) and part not in target:
            target[part] = [{}] if following == 0 else {}
        target = target[part]
    return data


CASES = list(dict.fromkeys((p, t, c, json.dumps(v)) for p, t, c, v in _cases(SCHEMA, (), None)))


def test_the_walk_reaches_every_kind_of_constraint() -> None:
    kinds = {c for _, _, c, _ in CASES}
    assert {"type", "enum", "minimum", "maximum", "exclusiveMinimum", "pattern"} <= kinds
    assert {"required", "additionalProperties", "minItems", "minLength", "uniqueItems"} <= kinds
    assert len(CASES) > 60


@pytest.mark.parametrize(("path", "task", "constraint", "value"), CASES, ids=lambda x: str(x))
def test_every_broken_constraint_is_told_in_acmeruns_words(
    path: Path, task: str | None, constraint: str, value: str
) -> None:
    text = yaml.safe_dump(_place(path, task, json.loads(value)), sort_keys=False)
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook_text(text, "rb.yml")
    errors = raised.value.errors
    where = format_path(path)
    for error in errors:
        assert re.match(r"rb\.yml:\d+:\d+: \S+: \S", error), error
        message = error.split(": ", 2)[2]
        assert "{" not in message or message.startswith("{") or "{}" in message, error
        assert not JSONSCHEMA_WORDS.search(error), error
    places = [e.split(": ")[1] for e in errors]
    assert any(where.startswith(p) or p.startswith(where) for p in places), (where, errors)
