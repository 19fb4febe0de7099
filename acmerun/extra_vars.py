"""``-e/--extra-vars``: variables given on the command line, the highest precedence of all.

Each ``-e`` is one of:

- ``KEY=VALUE``: ``KEY`` is a variable name; ``VALUE`` is everything after the
  first ``=`` (spaces and further ``=`` included), read as a YAML scalar with the
  usual traps removed (see ``scalar``);
- ``@FILE``: a YAML or JSON file holding a mapping;
- ``{...}``: a JSON (or YAML flow) mapping written inline.

Later ``-e`` options override earlier ones, key by key (a shallow merge, as in
Ansible). Anything else is a ``BadOptions`` error naming the ``-e`` at fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from acmerun.errors import BadOptions

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\Z")


def parse_extra_vars(values: Iterable[str]) -> dict[str, Any]:
    """Merge every ``-e`` value, in order, into one mapping of variables."""
    merged: dict[str, Any] = {}
    for value in values:
        merged.update(parse_one(value))
    return merged


def parse_one(value: str) -> dict[str, Any]:
    """The variables of one ``-e`` value; ``BadOptions`` says which ``-e`` is wrong and why."""
    text = value.strip()
    if text.startswith("@"):
        return _from_file(value, text[1:])
    if text.startswith("{"):
        return _mapping(value, _load_inline(value, text), "")
    key, sep, raw = value.partition("=")
    key = key.strip()
    if not sep:
        raise BadOptions(f"-e {value!r}: expected KEY=VALUE, @FILE or a JSON mapping")
    if not _NAME.match(key):
        raise BadOptions(
            f"-e {value!r}: {key!r} is not a variable name "
            "(letters, digits and underscores, not starting with a digit)"
        )
    return {key: scalar(raw, value)}


def scalar(raw: str, option: str = "") -> Any:
    """A ``KEY=VALUE`` value: int, float, bool, null, a quoted string, a flow list/map, or str.

    Unlike plain YAML, a value is only a number when it reads back the same
    (``5.10`` and ``010`` stay strings, so versions and padded numbers survive),
    and only ``true``/``false`` are booleans (``yes``, ``no``, ``on`` stay strings).
    """
    text = raw.strip()
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        number = float(text)
        return number if repr(number) == text.lstrip("+") else raw
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    if text[:1] in ("'", '"', "[", "{"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BadOptions(
                f"-e {option!r}: the value is not valid YAML: {_problem(exc)}"
            ) from exc
    return raw


def _from_file(option: str, name: str) -> dict[str, Any]:
    path = Path(name).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadOptions(f"-e {option!r}: cannot read {name}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadOptions(f"-e {option!r}: {name} is not UTF-8 text") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadOptions(f"-e {option!r}: {name}:{_problem(exc)}") from exc
    if data is None:
        return {}
    return _mapping(option, data, f"{name} ")


def _load_inline(option: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadOptions(
            f"-e {option!r}: not a valid JSON or YAML mapping: {_problem(exc)}"
        ) from exc


def _mapping(option: str, data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadOptions(
            f"-e {option!r}: {where}holds a {type(data).__name__}, expected a mapping of variables"
        )
    for key in data:
        if not isinstance(key, str) or not _NAME.match(key):
            raise BadOptions(f"-e {option!r}: {where}has {key!r}, which is not a variable name")
    return data


def _problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{mark.line + 1}:{mark.column + 1}: {problem}"
    return str(problem)
