"""Runbook YAML as plain data, with the line and column of every key and value.

Safe YAML only: plain mappings, lists, strings, numbers, booleans and nulls.
Duplicate keys, other YAML tags, non-string keys, bad UTF-8 and syntax errors
are reported as ``Problem`` records, all of them, each at its place. So are plain
values that YAML 1.1 (PyYAML) and YAML 1.2 (most editors and linters) read
differently (``yes``, ``on``, ``1:30``, ``0755``, ``1_000``, ``0b101``), and numbers
that are not finite (``.inf``, ``.nan``): a runbook means one thing to every reader.
``0o755`` is read as the YAML 1.2 octal integer it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

#: where a value sits in a document: keys and 0-based list indexes
Path = tuple[str | int, ...]

_PLAIN_SCALARS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"

#: how deep mappings and lists may nest: far past any runbook, far below Python's stack
MAX_DEPTH = 64
#: how many values a document may hold once its aliases (``*name``) are expanded
MAX_VALUES = 250_000


_OCTAL_12 = re.compile(r"^[-+]?0o[0-7]+$")
_FLOAT_12 = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+$")
#: words YAML 1.1 reads as booleans and YAML 1.2 as strings
_BOOLEANS_11 = {
    word: value
    for words, value in (("yes on y", True), ("no off n", False))
    for base in words.split()
    for word in (base, base.capitalize(), base.upper())
}
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"


def _yaml_11_only(node: yaml.ScalarNode) -> str | None:
    """Why a plain scalar means something else in YAML 1.2 than in YAML 1.1, if it does."""
    text = node.value
    quoted = f"'{text}'" if "'" not in text else f'"{text}"'
    if node.tag in (_BOOL, "tag:yaml.org,2002:str") and text in _BOOLEANS_11:
        word = "true" if _BOOLEANS_11[text] else "false"
        return (
            f"{text} is a boolean in YAML 1.1 but a string in YAML 1.2: "
            f"write {word}, or {quoted} for the text"
        )
    if node.tag == "tag:yaml.org,2002:str" and _FLOAT_12.match(text):
        number = float(text)
        if not math.isfinite(number):
            return f"{text} is too large for a number: write a smaller one"
        written = f"{number!r}"
        if "e" in written and "." not in written:  # YAML 1.1 wants 1.0e+308, not 1e+308
            written = written.replace("e", ".0e")
        return (
            f"{text} is a number in YAML 1.2 but a string in YAML 1.1: "
            f"write {written}, or {quoted} for the text"
        )
    if node.tag not in (_INT, _FLOAT):
        return None
    digits = text.lstrip("+-")
    if ":" in text:
        return (
            f"{text} is a base-60 number in YAML 1.1 but a string in YAML 1.2: "
            f"write {quoted} for the text, or the number in seconds"
        )
    if "_" in text:
        plain = text.replace("_", "")
        return f"{text} is a number in YAML 1.1 only: write {plain}, or {quoted} for the text"
    if node.tag == _INT and digits.startswith("0b"):
        return (
            f"{text} is a binary number in YAML 1.1 only: write {int(text.replace('b', ''), 2)}"
            f" (or 0x{int(digits[2:], 2):x}), or {quoted} for the text"
            if "-" not in text
            else f"{text} is a binary number in YAML 1.1 only: write it in decimal"
        )
    if node.tag == _INT and len(digits) > 1 and digits.startswith("0") and digits.isdigit():
        sign = text[: len(text) - len(digits)]
        return (
            f"{text} is octal in YAML 1.1 but decimal in YAML 1.2: write "
            f"{sign}0o{digits.lstrip('0') or '0'} for octal, {sign}{int(digits)} for decimal, "
            f"or {quoted} for the text"
        )
    return None


class _TooBig(Exception):
    """The document nests too deep or expands too far: reading on would exhaust the stack."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(mark.line + 1, mark.column + 1, None, message)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to nest deeper than ``MAX_DEPTH`` (its composer recurses)."""

    _depth = 0

    def _enter(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise _TooBig(mark, f"mappings and lists nest more than {MAX_DEPTH} levels deep")

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        self._enter()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        self._enter()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self._depth -= 1


_Loader.add_implicit_resolver(_INT, _OCTAL_12, list("-+0"))


def format_path(path: Path) -> str:
    """``steps[1].args.version`` for ``("steps", 1, "args", "version")``; ``<root>`` for ()."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "<root>"


@dataclass(frozen=True, order=True)
class Problem:
    """One error in a runbook: 1-based line and column, the document path, the message."""

    line: int
    column: int
    path: str | None
    message: str

    def render(self, file: str) -> str:
        """``FILE:LINE:COLUMN: PATH: message`` (no PATH for errors below the document level)."""
        where = f"{file}:{self.line}:{self.column}"
        if self.path is None:
            return f"{where}: {self.message}"
        return f"{where}: {self.path}: {self.message}"


@dataclass
class Source:
    """A parsed document: its data, and where each value and key was written (1-based)."""

    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    #: paths whose value was refused (a YAML tag): other checks stay quiet about them
    refused: set[Path] = field(default_factory=set)

    def value_at(self, path: Path) -> tuple[int, int]:
        """Where the value at ``path`` (or its closest written parent) starts."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def key_at(self, path: Path) -> tuple[int, int]:
        """Where the key of the value at ``path`` starts (the value itself when no key)."""
        return self.keys.get(path) or self.value_at(path)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


class _Builder:
    """Builds plain data from composed YAML nodes, recording locations and problems."""

    def __init__(self) -> None:
        self.source = Source(data=None)
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")
        #: nodes being built (an alias inside its own anchor would recurse forever)
        self._open: set[int] = set()
        self._count = 0

    def problem(self, node: yaml.Node, path: Path, message: str) -> None:
        line, col = _mark(node)
        self.problems.append(Problem(line, col, format_path(path), message))

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.source.values[path] = _mark(node)  # the last built at a path is the one kept
        self._count += 1
        if self._count > MAX_VALUES:
            message = f"the document holds more than {MAX_VALUES} values once its aliases expand"
            raise _TooBig(node.start_mark, message)
        if len(path) > MAX_DEPTH:
            raise _TooBig(node.start_mark, f"values nest more than {MAX_DEPTH} levels deep")
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in self._open:
                self.problem(node, path, "an alias (*name) inside the value it refers to")
                return None
            self._open.add(id(node))
            try:
                return self.collection(node, path)
            finally:
                self._open.discard(id(node))
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == _TIMESTAMP:
            return node.value
        if node.tag not in _PLAIN_SCALARS:
            return self.bad_tag(node, path)
        if node.style is None:
            differs = _yaml_11_only(node)
            if differs is not None:
                self.source.refused.add(path)
                self.problem(node, path, differs)
                return None
        value = self.scalar(node, path)
        if isinstance(value, float) and not math.isfinite(value):
            self.source.refused.add(path)
            self.problem(node, path, f"{node.value} is not a finite number: write a number")
            return None
        return value

    def scalar(self, node: yaml.ScalarNode, path: Path, *, key: bool = False) -> Any:
        """The scalar's value; an explicit tag it does not fit (``!!int abc``) is a problem."""
        if node.tag == _INT and _OCTAL_12.match(node.value):
            return int(node.value, 8)
        try:
            return self._scalars.construct_object(node)
        except (ValueError, KeyError, TypeError, yaml.YAMLError):
            if not key:
                self.source.refused.add(path)
            tag = _short_tag(node.tag)
            self.problem(node, path, f"{_short(node.value)} is not a valid {tag} value")
            return None

    def collection(self, node: yaml.MappingNode | yaml.SequenceNode, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                return self.bad_tag(node, path)
            return self.mapping(node, path)
        if node.tag != _SEQ:
            return self.bad_tag(node, path)
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]

    def bad_tag(self, node: yaml.Node, path: Path) -> None:
        self.source.refused.add(path)
        self.problem(
            node,
            path,
            f"YAML tag '{_short_tag(node.tag)}' is not allowed: a runbook holds plain data "
            "(mappings, lists, strings, numbers, booleans)",
        )
        return None

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first: dict[str, yaml.Node] = {}
        # merged mappings (``<<: *anchor``) first: the keys written here then override
        # them, values and positions alike, so errors point at what the user wrote
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                continue
            merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            # the first of several merged mappings wins: built last, it overrides the others
            for other in reversed(merged):
                if not isinstance(other, yaml.MappingNode):
                    self.problem(other, path, "'<<' merges mappings only")
                    continue
                result.update(self.mapping(other, path))
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_SCALARS:
                self.problem(key_node, path, "a key must be a plain string")
                continue
            key = self.scalar(key_node, path, key=True)
            if key is None and key_node.tag != "tag:yaml.org,2002:null":
                continue
            if not isinstance(key, str):
                self.problem(
                    key_node, path, f"key {key!r} is not a string: quote it ('{key_node.value}')"
                )
                continue
            if key in first:
                line = first[key].start_mark.line + 1
                self.problem(key_node, path, f"duplicate key '{key}' (first on line {line})")
                continue
            first[key] = key_node
            where: Path = (*path, key)
            self.source.keys[where] = _mark(key_node)
            result[key] = self.build(value_node, where)
        return result


def _syntax_problem(error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    message = f"YAML syntax error: {error.problem or error.context}"
    if error.context and error.problem and error.problem.startswith("but "):
        message = f"YAML syntax error: {error.context}, {error.problem}"
    elif error.context and error.problem and error.context_mark is not None:
        at = f"line {error.context_mark.line + 1}, column {error.context_mark.column + 1}"
        message += f" ({error.context} at {at})"
    return Problem(line, col, None, message)


def decode(raw: str | bytes) -> tuple[str | None, list[Problem]]:
    """The text of a runbook file, or the place where it stops being UTF-8."""
    if isinstance(raw, str):
        return raw, []
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        byte = raw[error.start]
        return None, [Problem(line, col, None, f"not UTF-8 text (byte 0x{byte:02x})")]


def parse(raw: str | bytes) -> tuple[Source | None, list[Problem]]:
    """The document in ``raw`` (None if unreadable) and every problem found reading it."""
    text, problems = decode(raw)
    if text is None:
        return None, problems
    try:
        node = yaml.compose(text, Loader=_Loader)
    except _TooBig as error:
        return None, [error.problem]
    except yaml.MarkedYAMLError as error:
        return None, [_syntax_problem(error)]
    except yaml.reader.ReaderError as error:
        before = text[: error.position]
        line, col = before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1
        char = error.character if isinstance(error.character, int) else ord(error.character)
        message = f"YAML syntax error: unacceptable character #x{char:04x}: {error.reason}"
        return None, [Problem(line, col, None, message)]
    except yaml.YAMLError as error:
        return None, [Problem(1, 1, None, "YAML error: " + " ".join(str(error).split()))]
    if node is None:
        return None, [
            Problem(1, 1, "<root>", "the file is empty: a runbook needs 'name' and 'steps'")
        ]
    builder = _Builder()
    try:
        builder.source.data = builder.build(node, ())
    except _TooBig as error:
        return None, [error.problem]
    return builder.source, builder.problems
