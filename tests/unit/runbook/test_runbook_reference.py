"""docs/runbook-reference.md keeps up with the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from acmerun.runbook import SCHEMA_URL, schema
from acmerun.runbook.tasks import BUILTIN_TASKS, ENTRY_POINT_GROUP, RESERVED_ARGS

DOC = (Path(__file__).parents[3] / "docs" / "runbook-reference.md").read_text()


def properties(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield key
            yield from properties(value)
        for key, value in node.items():
            if key != "properties":
                yield from properties(value)
    elif isinstance(node, list):
        for item in node:
            yield from properties(item)


def test_every_schema_property_is_documented() -> None:
    names = set(properties(schema()))
    assert {"name", "steps", "group_by", "on_failure", "ignore_errors", "reboot_timeout"} <= names
    missing = sorted(n for n in names if f"`{n}`" not in DOC)
    assert missing == []


def test_enums_tasks_and_reserved_names_are_documented() -> None:
    on_failure = schema()["$defs"]["rolling"]["properties"]["on_failure"]["enum"]
    words = [*on_failure, *(f"acmeos.{t}" for t in BUILTIN_TASKS), *RESERVED_ARGS]
    assert [w for w in words if f"`{w}`" not in DOC] == []
    assert ENTRY_POINT_GROUP in DOC
    assert SCHEMA_URL in DOC


def test_documented_defaults_match_the_schema() -> None:
    step = schema()["$defs"]["step"]["properties"]
    for key in ("retries", "delay", "backoff"):
        assert f"| `{key}` | `{step[key]['default']}` |" in DOC
    assert "| `ignore_errors` | `false` |" in DOC
    rolling = schema()["$defs"]["rolling"]["properties"]
    assert f"| `max_down` | `{rolling['max_down']['default']}` |" in DOC
    assert f"| `on_failure` | `{rolling['on_failure']['default']}` |" in DOC
