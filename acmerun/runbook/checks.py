"""Checks the schema cannot make: task names and arguments, templates, expressions, names.

Each check reads the raw document defensively (the schema may have refused parts of
it) and reports problems at the place they were written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from acmerun.runbook.inventorycheck import inventory_problems
from acmerun.runbook.source import Path, Problem, Source, format_path
from acmerun.runbook.tasks import (
    RESERVED_ARGS,
    TaskNotFound,
    arg_problems,
    check_name,
    is_builtin,
    resolve,
)
from acmerun.runbook.tasksource import signature
from acmerun.runbook.templating import (
    RESERVED_NAMES,
    expression_problems,
    is_template,
    template_problems,
)

_TASK_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*)?$", re.ASCII)
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$", re.ASCII)


def _at(source: Source, path: Path, message: str, key: bool = False) -> Problem:
    line, col = source.key_at(path) if key else source.value_at(path)
    return Problem(line, col, format_path(path[:-1] if key else path), message)


def _templates(source: Source, value: Any, path: Path) -> Iterator[Problem]:
    if isinstance(value, str):
        if is_template(value):
            for message in template_problems(value):
                yield _at(source, path, message)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _templates(source, item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _templates(source, item, (*path, i))


def _expression(source: Source, value: Any, path: Path) -> Iterator[Problem]:
    if isinstance(value, str):
        for message in expression_problems(value):
            yield _at(source, path, message)


def _task(source: Source, step: Mapping[str, Any], path: Path) -> Iterator[Problem]:
    name = step.get("task")
    args = step.get("args")
    if isinstance(args, Mapping):
        for arg in args:
            if arg in RESERVED_ARGS:
                message = f"'{arg}' is reserved by nornir's task.run: it cannot be a task argument"
                yield _at(source, (*path, "args", arg), message, key=True)
    if not isinstance(name, str) or not _TASK_NAME.match(name):
        return
    try:
        if is_builtin(name):
            return  # the schema describes the built-in tasks' arguments
        check_name(name)
        # a user's module:function is read from its source: validating runs no code of it
        fn = signature(name) if ":" in name else resolve(name)
    except TaskNotFound as error:
        yield _at(source, (*path, "task"), str(error))
        return
    if fn is None:
        return
    given = args if isinstance(args, Mapping) else {}
    for arg, message in arg_problems(name, fn, given):
        if arg is not None:
            yield _at(source, (*path, "args", arg), message, key=True)
        elif "args" in step:
            yield _at(source, (*path, "args"), message)
        else:
            yield _at(source, path, message)


_NEEDS_TASK = ("args", "loop", "loop_var", "until", "changed_when", "failed_when")


def _flow(
    source: Source, step: Mapping[str, Any], path: Path, names: frozenset[str]
) -> Iterator[Problem]:
    """rescue/always only around nested steps; loop keys only on a task; loop_var free."""
    group = "task" not in step
    for key in ("rescue", "always"):
        if key in step and not group:
            message = f"'{key}' needs 'steps' (or 'include'): it runs after nested steps"
            yield _at(source, (*path, key), message, key=True)
    if group:
        for key in _NEEDS_TASK:
            if key in step:
                message = f"'{key}' needs a 'task': a step with nested 'steps' has no {key}"
                yield _at(source, (*path, key), message, key=True)
    if "loop_var" in step and "loop" not in step:
        yield _at(source, (*path, "loop_var"), "'loop_var' needs a 'loop'", key=True)
    loop_var = step.get("loop_var", "item") if "loop" in step else None
    if isinstance(loop_var, str) and _IDENTIFIER.match(loop_var):
        where = (*path, "loop_var") if "loop_var" in step else (*path, "loop")
        if loop_var in RESERVED_NAMES:
            message = f"loop_var '{loop_var}' is a reserved name in templates: use another name"
            yield _at(source, where, message)
        elif loop_var in names or loop_var == step.get("register"):
            message = (
                f"loop_var '{loop_var}' is already a variable or a registered name: "
                "use another name"
            )
            yield _at(source, where, message)
    for key in ("until", "changed_when", "failed_when"):
        yield from _expression(source, step.get(key), (*path, key))
    yield from _templates(source, step.get("loop"), (*path, "loop"))
    yield from _templates(source, step.get("vars"), (*path, "vars"))
    yield from _templates(source, step.get("name"), (*path, "name"))


def _step(
    source: Source, step: Any, path: Path, names: frozenset[str] = frozenset()
) -> Iterator[Problem]:
    if not isinstance(step, Mapping):
        return
    yield from _task(source, step, path)
    yield from _flow(source, step, path, names)
    yield from _templates(source, step.get("args"), (*path, "args"))
    yield from _expression(source, step.get("when"), (*path, "when"))
    asserts = step.get("assert")
    if isinstance(asserts, list):
        for i, item in enumerate(asserts):
            yield from _expression(source, item, (*path, "assert", i))
    else:
        yield from _expression(source, asserts, (*path, "assert"))
    register = step.get("register")
    if isinstance(register, str) and _IDENTIFIER.match(register) and register in RESERVED_NAMES:
        message = f"'{register}' is a reserved name in templates: register under another name"
        yield _at(source, (*path, "register"), message)
    for key in ("steps", "rescue", "always"):
        children = step.get(key)
        if isinstance(children, list):
            for i, child in enumerate(children):
                yield from _step(source, child, (*path, key, i), names)


def _registers(steps: Any) -> Iterator[str]:
    if isinstance(steps, list):
        for step in steps:
            if isinstance(step, Mapping):
                if isinstance(step.get("register"), str):
                    yield step["register"]
                if isinstance(step.get("vars"), Mapping):
                    yield from (k for k in step["vars"] if isinstance(k, str))
                for key in ("steps", "rescue", "always"):
                    yield from _registers(step.get(key))


def runbook_names(data: Mapping[str, Any]) -> frozenset[str]:
    """The runbook's vars, registered names and step vars (a loop_var may not reuse one)."""
    found = set(_registers(data.get("steps")))
    if isinstance(data.get("vars"), Mapping):
        found.update(k for k in data["vars"] if isinstance(k, str))
    return frozenset(found)


def steps_problems(source: Source, steps: Any, path: Path, names: frozenset[str]) -> list[Problem]:
    """The problems of the steps at ``path`` of ``source`` (a runbook or an included file)."""
    found: list[Problem] = []
    if isinstance(steps, list):
        for i, step in enumerate(steps):
            found.extend(_step(source, step, (*path, i), names))
    return found


def semantic_problems(source: Source) -> list[Problem]:
    """Every problem of a runbook document beyond what its JSON Schema checks."""
    data = source.data
    if not isinstance(data, Mapping):
        return []
    problems: list[Problem] = list(inventory_problems(source))
    strategy = data.get("strategy")
    if isinstance(strategy, Mapping) and isinstance(strategy.get("rolling"), Mapping):
        group_by = strategy["rolling"].get("group_by")
        path: Path = ("strategy", "rolling", "group_by")
        problems.extend(_templates(source, group_by, path))
    problems.extend(_templates(source, data.get("name"), ("name",)))
    problems.extend(_templates(source, data.get("vars"), ("vars",)))
    problems.extend(steps_problems(source, data.get("steps"), ("steps",), runbook_names(data)))
    return problems
