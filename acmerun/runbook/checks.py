"""Checks the schema cannot make: task names and arguments, templates, expressions, names.

Each check reads the raw document defensively (the schema may have refused parts of
it) and reports problems at the place they were written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from acmerun.runbook.inventorycheck import host_data_keys, inventory_problems
from acmerun.runbook.names import GROUP_BY_NAMES, Scope, expression_names, template_names
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


def _templates(
    source: Source, value: Any, path: Path, scope: Scope, more: frozenset[str] = frozenset()
) -> Iterator[Problem]:
    if isinstance(value, str):
        if is_template(value):
            messages = template_problems(value) or scope.problems(template_names(value), more)
            for message in messages:
                yield _at(source, path, message)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _templates(source, item, (*path, key), scope, more)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _templates(source, item, (*path, i), scope, more)


def _expression(source: Source, value: Any, path: Path, scope: Scope) -> Iterator[Problem]:
    if isinstance(value, str):
        messages = expression_problems(value) or scope.problems(expression_names(value))
        for message in messages:
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


def _step(source: Source, step: Any, path: Path, scope: Scope) -> Iterator[Problem]:
    if not isinstance(step, Mapping):
        return
    yield from _task(source, step, path)
    if "steps" in step and "task" not in step:
        for key in ("args", "register"):
            if key in step:
                message = f"'{key}' needs a 'task': a step with nested 'steps' has no {key}"
                yield _at(source, (*path, key), message, key=True)
    yield from _templates(source, step.get("args"), (*path, "args"), scope)
    yield from _expression(source, step.get("when"), (*path, "when"), scope)
    register = step.get("register")
    if isinstance(register, str) and _IDENTIFIER.match(register) and register in RESERVED_NAMES:
        message = f"'{register}' is a reserved name in templates: register under another name"
        yield _at(source, (*path, "register"), message)
    if isinstance(register, str) and "task" in step:
        scope.registered.add(register)  # its own asserts see it: they run after the task
    children = step.get("steps")
    if isinstance(children, list):  # a group's asserts run after its steps
        for i, child in enumerate(children):
            yield from _step(source, child, (*path, "steps", i), scope)
    asserts = step.get("assert")
    if isinstance(asserts, list):
        for i, item in enumerate(asserts):
            yield from _expression(source, item, (*path, "assert", i), scope)
    else:
        yield from _expression(source, asserts, (*path, "assert"), scope)


def _registers(steps: Any, path: Path, found: dict[str, str]) -> dict[str, str]:
    """Every ``register`` name of ``steps`` (nested ones too), with where it is first written."""
    if not isinstance(steps, list):
        return found
    for i, step in enumerate(steps):
        if isinstance(step, Mapping):
            if isinstance(step.get("register"), str):
                found.setdefault(step["register"], format_path((*path, i)))
            _registers(step.get("steps"), (*path, i, "steps"), found)
    return found


def _scope(source: Source, extra_names: frozenset[str]) -> Scope:
    data = source.data
    given = data.get("vars")
    names = frozenset(k for k in given if isinstance(k, str)) if isinstance(given, Mapping) else ()
    later = _registers(data.get("steps"), ("steps",), {})
    return Scope(frozenset(names), extra_names, host_data_keys(source), later)


def semantic_problems(source: Source, extra_names: Iterable[str] = ()) -> list[Problem]:
    """Every problem of a runbook document beyond what its JSON Schema checks.

    ``extra_names`` are the names the command line defines (``-e``).
    """
    data = source.data
    if not isinstance(data, Mapping):
        return []
    problems: list[Problem] = list(inventory_problems(source))
    scope = _scope(source, frozenset(extra_names))
    strategy = data.get("strategy")
    if isinstance(strategy, Mapping) and isinstance(strategy.get("rolling"), Mapping):
        group_by = strategy["rolling"].get("group_by")
        path: Path = ("strategy", "rolling", "group_by")
        problems.extend(_templates(source, group_by, path, scope, GROUP_BY_NAMES))
    steps = data.get("steps")
    if isinstance(steps, list):
        for i, step in enumerate(steps):
            problems.extend(_step(source, step, ("steps", i), scope))
    return problems
