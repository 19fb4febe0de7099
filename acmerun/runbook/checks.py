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


_NEEDS_TASK = ("args", "loop", "loop_var", "until", "changed_when", "failed_when")
_NESTED = ("steps", "rescue", "always")


def _flow(source: Source, step: Mapping[str, Any], path: Path, scope: Scope) -> Iterator[Problem]:
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
        taken = scope.vars | frozenset(scope.later) | frozenset(scope.registered)
        if loop_var in RESERVED_NAMES:
            message = f"loop_var '{loop_var}' is a reserved name in templates: use another name"
            yield _at(source, where, message)
        elif loop_var in taken or loop_var == step.get("register"):
            message = (
                f"loop_var '{loop_var}' is already a variable or a registered name: "
                "use another name"
            )
            yield _at(source, where, message)


def _own_names(step: Mapping[str, Any]) -> list[str]:
    """The names a step defines for itself and its nested steps: its vars, its loop_var."""
    given = step.get("vars")
    names = [k for k in given if isinstance(k, str)] if isinstance(given, Mapping) else []
    if "loop" in step and isinstance(step.get("loop_var", "item"), str):
        names.append(step.get("loop_var", "item"))
    return names


def _step(source: Source, step: Any, path: Path, scope: Scope) -> Iterator[Problem]:
    if not isinstance(step, Mapping):
        return
    yield from _task(source, step, path)
    yield from _flow(source, step, path, scope)
    yield from _templates(source, step.get("vars"), (*path, "vars"), scope)
    yield from _templates(source, step.get("loop"), (*path, "loop"), scope)
    own = [n for n in _own_names(step) if n not in scope.registered]
    scope.registered.update(own)
    yield from _templates(source, step.get("name"), (*path, "name"), scope)
    yield from _templates(source, step.get("args"), (*path, "args"), scope)
    yield from _expression(source, step.get("when"), (*path, "when"), scope)
    register = step.get("register")
    if isinstance(register, str) and _IDENTIFIER.match(register) and register in RESERVED_NAMES:
        message = f"'{register}' is a reserved name in templates: register under another name"
        yield _at(source, (*path, "register"), message)
    if isinstance(register, str) and "task" in step:
        scope.registered.add(register)  # its own checks see it: they run after the task
    for key in ("until", "changed_when", "failed_when"):
        yield from _expression(source, step.get(key), (*path, key), scope)
    for key in _NESTED:  # a group's asserts run after its steps
        children = step.get(key)
        if isinstance(children, list):
            for i, child in enumerate(children):
                yield from _step(source, child, (*path, key, i), scope)
    if isinstance(register, str):
        scope.registered.add(register)
    asserts = step.get("assert")
    if isinstance(asserts, list):
        for i, item in enumerate(asserts):
            yield from _expression(source, item, (*path, "assert", i), scope)
    else:
        yield from _expression(source, asserts, (*path, "assert"), scope)
    scope.registered.difference_update(n for n in own if n != register)


def _registers(steps: Any, path: Path, found: dict[str, str]) -> dict[str, str]:
    """Every ``register`` name of ``steps`` (nested ones too), with where it is first written."""
    if not isinstance(steps, list):
        return found
    for i, step in enumerate(steps):
        if isinstance(step, Mapping):
            if isinstance(step.get("register"), str):
                found.setdefault(step["register"], format_path((*path, i)))
            for key in _NESTED:
                _registers(step.get(key), (*path, i, key), found)
    return found


def runbook_names(data: Any) -> frozenset[str]:
    """What a runbook defines for the files it includes: its vars, registers and step vars."""
    if not isinstance(data, Mapping):
        return frozenset()
    found = set(_registers(data.get("steps"), ("steps",), {}))
    if isinstance(data.get("vars"), Mapping):
        found.update(k for k in data["vars"] if isinstance(k, str))

    def step_vars(steps: Any) -> None:
        for step in steps if isinstance(steps, list) else ():
            if isinstance(step, Mapping):
                given = step.get("vars")
                if isinstance(given, Mapping):
                    found.update(k for k in given if isinstance(k, str))
                for key in _NESTED:
                    step_vars(step.get(key))

    step_vars(data.get("steps"))
    return frozenset(found)


def _scope(source: Source, extra_names: frozenset[str], inherited: frozenset[str] | None) -> Scope:
    data = source.data
    given = data.get("vars")
    names = frozenset(k for k in given if isinstance(k, str)) if isinstance(given, Mapping) else ()
    later = _registers(data.get("steps"), ("steps",), {})
    # a file of steps checked on its own: what its includers define is unknown
    keys = host_data_keys(source) if inherited is not None else None
    return Scope(frozenset(names) | (inherited or frozenset()), extra_names, keys, later)


def semantic_problems(
    source: Source, extra_names: Iterable[str] = (), inherited: Iterable[str] | None = ()
) -> list[Problem]:
    """Every problem of a runbook document beyond what its JSON Schema checks.

    ``extra_names`` are the names the command line defines (``-e``); ``inherited``
    what the including runbook defines, for an included file of steps (None: a file
    of steps checked on its own, whose includers' names are unknown).
    """
    data = source.data
    if not isinstance(data, Mapping):
        return []
    problems: list[Problem] = list(inventory_problems(source))
    scope = _scope(
        source, frozenset(extra_names), None if inherited is None else frozenset(inherited)
    )
    strategy = data.get("strategy")
    if isinstance(strategy, Mapping) and isinstance(strategy.get("rolling"), Mapping):
        group_by = strategy["rolling"].get("group_by")
        path: Path = ("strategy", "rolling", "group_by")
        problems.extend(_templates(source, group_by, path, scope, GROUP_BY_NAMES))
    problems.extend(_templates(source, data.get("name"), ("name",), scope))
    problems.extend(_templates(source, data.get("vars"), ("vars",), scope))
    steps = data.get("steps")
    if isinstance(steps, list):
        for i, step in enumerate(steps):
            problems.extend(_step(source, step, ("steps", i), scope))
    gate = strategy.get("gate") if isinstance(strategy, Mapping) else None
    if isinstance(gate, list):
        # the gate runs on its own: it sees the vars and host data, not what the steps register
        path = ("strategy", "gate")
        on_its_own = Scope(scope.vars, scope.extra, scope.host_keys, _registers(gate, path, {}))
        for i, step in enumerate(gate):
            if isinstance(step, Mapping) and "include" in step:
                problems.append(_at(source, (*path, i, "include"), _NO_INCLUDE))
            problems.extend(_step(source, step, (*path, i), on_its_own))
    return problems


_NO_INCLUDE = "a gate's steps are written in the runbook: 'include' is not supported there"
