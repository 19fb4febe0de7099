"""Runbook files -> validated ``Runbook`` records, or every error with file:line:column.

One call, one exception: ``load_runbook`` returns a ``Runbook`` or raises
``RunbookInvalid`` whose ``errors`` are all the problems of the file, sorted by
position, each ``FILE:LINE:COLUMN: PATH: message``.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

from acmerun.errors import RunbookInvalid
from acmerun.runbook.checks import runbook_names, semantic_problems
from acmerun.runbook.includes import Check, expand, locator, steps_file_errors
from acmerun.runbook.model import Runbook
from acmerun.runbook.source import Path, Problem, Source, format_path, parse
from acmerun.runbook.tasks import RESERVED_ARGS, closest

SCHEMA_URL = "https://raw.githubusercontent.com/acmerun/acmerun/main/acmerun/runbook/schema.json"
RUNBOOK_SUFFIXES = (".yml", ".yaml")
_TASK_OR_STEPS = [{"required": ["task"]}, {"required": ["steps"]}, {"required": ["include"]}]
_KINDS = ("task", "steps", "include")


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("acmerun.runbook").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema() -> dict[str, Any]:
    """The runbook JSON Schema (draft 2020-12), as published for editors."""
    return copy.deepcopy(_schema())


def _is_integer(checker: Any, instance: Any) -> bool:
    """An int, not a whole float: ``workers: 4.0`` is refused, as YAML 1.2 reads it a float."""
    return isinstance(instance, int) and not isinstance(instance, bool)


_TYPES = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
_Validator = validators.extend(Draft202012Validator, type_checker=_TYPES)  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    return _Validator(_schema())


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: ValidationError) -> str:
    if error.validator == "type":
        types: Any = error.validator_value
        names = [types] if isinstance(types, str) else list(types)
        instance = error.instance
        whole = isinstance(instance, float) and instance.is_integer() and abs(instance) < 1e16
        if names == ["integer"] and isinstance(instance, float) and whole:
            return f"{instance!r} is not an integer: write {int(instance)}"
        return f"{_short(error.instance)} is not of type {', '.join(repr(t) for t in names)}"
    own = _OWN.get(str(error.validator))
    if own is not None:
        return own(_short(error.instance), error.validator_value)
    text = repr(error.instance)
    return error.message.replace(text, _short(error.instance)) if len(text) > 60 else error.message


def _one_of(values: Any) -> str:
    return ", ".join(repr(v) for v in values)


#: acmerun's own words for a broken constraint, ``(the value, the constraint) -> message``,
#: the same whatever the jsonschema release
_OWN: dict[str, Callable[[str, Any], str]] = {
    "maximum": lambda v, n: f"{v} is more than the largest allowed, {n}",
    "minimum": lambda v, n: f"{v} is less than the smallest allowed, {n}",
    "exclusiveMaximum": lambda v, n: f"{v} is too large: it must be less than {n}",
    "exclusiveMinimum": lambda v, n: f"{v} is too small: it must be more than {n}",
    "minLength": lambda v, n: f"{v} should be non-empty" if n == 1 else f"{v} is shorter than {n}",
    "maxLength": lambda v, n: f"{v} is longer than {n} characters",
    "minItems": lambda v, n: f"{v} should be non-empty" if n == 1 else f"{v} has fewer than {n}",
    "maxItems": lambda v, n: f"{v} has more than {n} items",
    "minProperties": lambda v, n: f"{v} should be non-empty" if n == 1 else f"{v} is too small",
    "uniqueItems": lambda v, n: f"{v} has an item more than once",
    "enum": lambda v, n: f"{v} is not one of {_one_of(n)}",
    "const": lambda v, n: f"{v} is not {n!r}",
    "pattern": lambda v, n: f"{v} does not match the pattern {n!r}",
    "required": lambda v, n: "",  # replaced below: the key that is missing
    "anyOf": lambda v, n: f"{v} is none of the forms allowed here (see docs/runbook-reference.md)",
    "oneOf": lambda v, n: f"{v} is none of the forms allowed here (see docs/runbook-reference.md)",
}


def _deepest(error: ValidationError) -> list[ValidationError]:
    """For anyOf/oneOf: the errors of the branch that got furthest into the value, if any."""
    base = len(error.absolute_path)
    branches: dict[Any, list[ValidationError]] = {}
    for e in error.context or ():
        if len(e.absolute_path) > base:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
    if not branches:
        return []
    return max(branches.values(), key=lambda es: max(len(e.absolute_path) for e in es))


def _at(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


#: (path, what the problem is, the key concerned, the problem)
_Found = tuple[Path, str, "str | None", Problem]


def _explain(source: Source, error: ValidationError) -> Iterator[_Found]:
    path: Path = tuple(error.absolute_path)
    where = format_path(path)
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        for key in instance:
            if key in known or (path[-1:] == ("args",) and key in RESERVED_ARGS):
                continue
            close = closest(key, known)
            hint = f" (did you mean '{close}'?)" if close else ""
            problem = Problem(*source.key_at((*path, key)), where, f"unknown key '{key}'{hint}")
            yield path, "unknown", close, problem
        return
    if error.validator == "oneOf" and error.validator_value == _TASK_OR_STEPS:
        given = [k for k in _KINDS if isinstance(instance, dict) and k in instance]
        if len(given) > 1:
            message = f"a step has one of 'task', 'steps' or 'include', not {' and '.join(given)}"
        else:
            message = (
                "a step needs 'task' (a task to run), 'steps' (nested steps) "
                "or 'include' (a file of steps)"
            )
        yield path, "oneOf", None, Problem(*source.value_at(path), where, message)
        return
    if error.validator in ("anyOf", "oneOf"):
        deeper = _deepest(error)
        if deeper:
            for e in deeper:
                yield from _explain(source, e)
            return
    if "propertyNames" in error.schema_path and isinstance(instance, str):
        line, col = source.key_at((*path, instance))
    else:
        line, col = source.value_at(path)
    custom = schema.get("patternErrorMessage" if error.validator == "pattern" else "errorMessage")
    if isinstance(custom, str):
        message = custom.replace("{value}", _short(instance))
    else:
        message = _message(error)
    key = None
    if error.validator == "required":
        key = error.message.split("'")[1]
        message = _required(source, path, key) or f"'{key}' is a required property"
    yield path, str(error.validator), key, Problem(line, col, where, message)


@functools.lru_cache(maxsize=1)
def _builtin_required() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for rule in _schema()["$defs"]["step"].get("allOf", []):
        task = rule["if"]["properties"]["task"]["const"]
        found[task] = rule["then"]["properties"]["args"].get("required", [])
    return found


def _required(source: Source, path: Path, key: str) -> str | None:
    """The message for a missing argument of a built-in task, in the task's words."""
    if path[:1] != ("steps",):
        return None
    if key == "args":
        step = _at(source.data, path)
        needed = _builtin_required().get(step.get("task"), [])
    elif path[-1] == "args":
        step, needed = _at(source.data, path[:-1]), [key]
    else:
        return None
    if not needed:
        return None
    return f"task '{step.get('task')}' needs the argument '{needed[0]}'"


def _problems(
    source: Source, extra_names: Iterable[str], inherited: Iterable[str] | None = ()
) -> list[Problem]:
    if not isinstance(source.data, dict):
        kind = "a list" if isinstance(source.data, list) else _short(source.data)
        message = f"a runbook is a mapping of keys (name, steps, ...), not {kind}"
        return [Problem(*source.value_at(()), "<root>", message)]
    found = [f for e in _validator().iter_errors(source.data) for f in _explain(source, e)]
    suggested = {(path, key) for path, kind, key, _ in found if kind == "unknown"}
    problems = []
    for path, kind, key, problem in found:
        if any(path[: len(r)] == r for r in source.refused):
            continue
        if kind == "required" and (path, key) in suggested:
            continue
        problems.append(problem)
    problems.extend(semantic_problems(source, extra_names, inherited))
    return problems


def _checker(extra_names: Iterable[str], inherited: Iterable[str] | None) -> Check:
    """The checks of an included file of steps: it sees what the runbook defines."""
    names, outer = list(extra_names), None if inherited is None else list(inherited)
    return lambda included: _problems(included, names, outer)


def load_runbook_text(text: str | bytes, path: str, extra_names: Iterable[str] = ()) -> Runbook:
    """The runbook in ``text`` (``path`` names it in errors); raises ``RunbookInvalid``.

    ``extra_names`` are the variables the command line sets (``-e``): templates may read them.
    """
    source, problems = parse(text)
    if source is None:
        raise RunbookInvalid([p.render(path) for p in sorted(set(problems))])
    # what included files register is known to the runbook and to each other
    names = runbook_names(expand(source, path, lambda _included: []).data)
    problems = problems + _problems(source, extra_names, names - runbook_names(source.data))
    errors = [p.render(path) for p in sorted(set(problems))]
    expanded = expand(source, path, _checker(extra_names, names))
    if errors or expanded.errors:
        raise RunbookInvalid(errors + expanded.errors)
    return Runbook.create(expanded.data, path, locator(source, path, expanded.found))


def _read(path: str) -> bytes:
    try:
        return FsPath(path).read_bytes()
    except OSError as error:
        raise RunbookInvalid([f"{path}: cannot read the file: {error.strerror or error}"]) from None


def load_runbook(path: str | os.PathLike[str], extra_names: Iterable[str] = ()) -> Runbook:
    """The runbook in the file at ``path``; raises ``RunbookInvalid`` with every error."""
    name = os.fspath(path)
    return load_runbook_text(_read(name), name, extra_names)


def _runbook_files(path: str) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    found: list[str] = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(RUNBOOK_SUFFIXES))
    return found


def _included_files(runbook: Runbook) -> set[str]:
    """The files of steps ``runbook`` includes (their real paths)."""
    found: set[str] = set()
    for step in runbook.all_steps():
        if step.include is not None and step.steps:
            found.add(os.path.realpath(step.steps[0].location.rsplit(":", 2)[0]))
    return found


def validate_paths(
    paths: Sequence[str], extra_names: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """(runbook files checked, every error line) for files and folders (*.yml, *.yaml).

    A file that a valid runbook among them includes is checked as a file of steps
    (what ``include`` reads), not as a runbook.
    """
    checked: list[str] = []
    errors: list[str] = []
    refused: dict[str, list[str]] = {}
    included: set[str] = set()
    for path in paths:
        for file in _runbook_files(path):
            checked.append(file)
            try:
                runbook = load_runbook(file, extra_names)
            except RunbookInvalid as invalid:
                refused[file] = invalid.errors
            else:
                included.update(_included_files(runbook))
    for file, found in refused.items():
        # a file of steps that a runbook of the folder includes is no runbook of its own
        steps = None
        if os.path.realpath(file) in included:
            steps = steps_file_errors(_read(file), file, _checker(extra_names, None))
        errors.extend(found if steps is None else steps)
    return checked, errors
