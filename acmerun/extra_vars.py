"""``-e/--extra-vars``: variables given on the command line, the highest precedence of all.

Each ``-e`` is one of:

- ``KEY=VALUE``: ``KEY`` is a variable name; ``VALUE`` is everything after the
  first ``=`` (spaces and further ``=`` included), read as a YAML scalar with the
  usual traps removed (see ``scalar``);
- ``@FILE``: a YAML or JSON file holding a mapping;
- ``{...}``: a JSON (or YAML flow) mapping written inline.

Later ``-e`` options override earlier ones, key by key (a shallow merge, as in
Ansible). Values are plain data read as runbooks are (``acmerun.runbook.source``):
no YAML tags, no duplicate keys, no nesting deeper than ``MAX_DEPTH``. The names
the run itself defines (``check_mode``, ``inventory_hostname``, ``loop``...: the
templates' ``RESERVED_NAMES``) cannot be set. Anything else is a ``BadOptions``
error naming the ``-e`` at fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from acmerun.errors import BadOptions
from acmerun.runbook.source import MAX_DEPTH, parse
from acmerun.runbook.templating import RESERVED_NAMES

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
        raise BadOptions(f"-e {_shown(value)}: expected KEY=VALUE, @FILE or a JSON mapping")
    if not _NAME.match(key):
        raise BadOptions(
            f"-e {_shown(value)}: {key!r} is not a variable name "
            "(letters, digits and underscores, not starting with a digit)"
        )
    _not_reserved(value, key, "")
    return {key: scalar(raw, value)}


def scalar(raw: str, option: str = "") -> Any:
    """A ``KEY=VALUE`` value: int, float, bool, null, a quoted string, a flow list/map, or str.

    Unlike plain YAML, a value is only a number when it reads back the same
    (``5.10`` and ``010`` stay strings, so versions and padded numbers survive),
    and only ``true``/``false`` are booleans (``yes``, ``no``, ``on`` stay strings).
    """
    text = raw.strip()
    if _INT.match(text):
        try:
            return int(text)
        except ValueError:  # Python refuses to read an integer this long
            digits = len(text.lstrip("+-"))
            raise BadOptions(
                f"-e {_shown(option)}: a number of {digits} digits is too long"
            ) from None
    if _FLOAT.match(text):
        number = float(text)
        return number if repr(number) == text.lstrip("+") else raw
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    if text[:1] in ("'", '"', "[", "{"):
        return _yaml(option, text, "the value is not valid YAML: ")
    return raw


def _from_file(option: str, name: str) -> dict[str, Any]:
    path = Path(name).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadOptions(f"-e {_shown(option)}: cannot read {name}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadOptions(f"-e {_shown(option)}: {name} is not UTF-8 text") from exc
    data = _yaml(option, text, f"{name}:")
    if data is None:
        return {}
    return _mapping(option, data, f"{name} ")


def _load_inline(option: str, text: str) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _yaml(option, text, "not a valid JSON or YAML mapping: ")
    except RecursionError as exc:
        raise BadOptions(f"-e {_shown(option)}: {_TOO_DEEP}") from exc
    if _depth(data) > MAX_DEPTH:
        raise BadOptions(f"-e {_shown(option)}: {_TOO_DEEP}")
    return data


_TOO_DEEP = f"values nest more than {MAX_DEPTH} levels deep"


def _yaml(option: str, text: str, where: str) -> Any:
    """Plain YAML data, as a runbook's: ``BadOptions`` at the first problem (a tag, nesting...)."""
    source, problems = parse(text)
    if source is None and problems and problems[0].path == "<root>":
        return None  # no document at all (blank, or comments only)
    if problems:
        first = problems[0]
        raise BadOptions(
            f"-e {_shown(option)}: {where}{first.line}:{first.column}: "
            + first.message.replace("a runbook holds", "-e values are")
        )
    return source.data if source is not None else None


def _depth(data: Any) -> int:
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _not_reserved(option: str, key: str, where: str) -> None:
    if key in RESERVED_NAMES:
        raise BadOptions(
            f"-e {_shown(option)}: {where}sets {key!r}, a name the run defines itself; "
            "it cannot be set with -e (pick another name)"
        )


def _mapping(option: str, data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadOptions(
            f"-e {_shown(option)}: {where}holds a {type(data).__name__},"
            " expected a mapping of variables"
        )
    for key in data:
        if not isinstance(key, str) or not _NAME.match(key):
            raise BadOptions(
                f"-e {_shown(option)}: {where}has {key!r}, which is not a variable name"
            )
        _not_reserved(option, key, where)
    return data


def _shown(option: str) -> str:
    """The ``-e`` value as an error line quotes it: at most 60 characters of it."""
    return repr(option if len(option) <= 60 or option.startswith("@") else option[:57] + "...")
