"""``include: FILE``: a file of steps, read, validated and located in its own file.

An included file is a YAML list of steps, found relative to the file that includes
it. Its errors are reported at its own ``FILE:LINE:COLUMN``; a missing file is
reported at the ``include`` that names it, and so is a cycle (a file that includes
itself, directly or through others). The runbook's data gets the file's steps as the
include step's ``steps``; ``locator`` then tells where any step was written.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from acmerun.runbook.source import Path, Problem, Source, format_path, parse

#: the problems of a runbook document (the loader's schema and semantic checks)
Check = Callable[[Source], list[Problem]]
_NESTED = ("steps", "rescue", "always")


@dataclass
class Included:
    """A file's steps as a runbook-shaped source (``{"name", "steps"}``) and its path."""

    source: Source
    file: str


@dataclass
class Expansion:
    """The runbook's data with every include expanded, where each came from, the errors."""

    data: Any
    found: dict[Path, Included] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def as_document(source: Source) -> Source:
    """A file's list of steps as the ``steps`` of a document, positions kept."""
    wrapped = Source(data={"name": "include", "steps": source.data})
    wrapped.values = {("steps", *p): at for p, at in source.values.items()}
    wrapped.keys = {("steps", *p): at for p, at in source.keys.items()}
    wrapped.values[()] = source.values.get((), (1, 1))
    wrapped.refused = {("steps", *p) for p in source.refused}
    return wrapped


def _read(target: str, check: Check) -> tuple[Source | None, list[Problem]]:
    sub, problems = parse(FsPath(target).read_bytes())
    if sub is None:
        return None, problems
    if not isinstance(sub.data, list):
        kind = "a mapping" if isinstance(sub.data, dict) else repr(sub.data)[:40]
        message = f"an included file is a list of steps, not {kind}"
        return None, [*problems, Problem(*sub.value_at(()), "<root>", message)]
    wrapped = as_document(sub)
    return wrapped, problems + check(wrapped)


def _include(
    step: dict[str, Any],
    at: tuple[Path, Path],
    here: Included,
    out: Expansion,
    chain: list[str],
    check: Check,
) -> None:
    doc_path, here_path = at
    name = step["include"]
    target = os.path.normpath(os.path.join(os.path.dirname(here.file), name))
    line, col = here.source.value_at((*here_path, "include"))
    where = f"{here.file}:{line}:{col}: {format_path((*here_path, 'include'))}"
    real = os.path.realpath(target)
    if real in chain:
        files = [*(os.path.relpath(c) for c in chain[chain.index(real) :]), os.path.relpath(real)]
        out.errors.append(f"{where}: include cycle: {' -> '.join(files)}")
        return
    try:
        wrapped, problems = _read(target, check)
    except OSError as error:
        reason = error.strerror or str(error)
        out.errors.append(f"{where}: cannot read the included file {target}: {reason}")
        return
    if problems or wrapped is None:
        out.errors.extend(p.render(target) for p in sorted(set(problems)))
        return
    inner = Included(wrapped, target)
    out.found[doc_path] = inner
    step["steps"] = copy.deepcopy(wrapped.data["steps"])
    _walk(step["steps"], ((*doc_path, "steps"), ("steps",)), inner, out, [*chain, real], check)


def _walk(
    steps: Any,
    at: tuple[Path, Path],
    here: Included,
    out: Expansion,
    chain: list[str],
    check: Check,
) -> None:
    doc_path, here_path = at
    if not isinstance(steps, list):
        return
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        spot = ((*doc_path, i), (*here_path, i))
        for key in _NESTED:
            _walk(step.get(key), ((*spot[0], key), (*spot[1], key)), here, out, chain, check)
        if isinstance(step.get("include"), str) and "steps" not in step and "task" not in step:
            _include(step, spot, here, out, chain, check)


def expand(source: Source, file: str, check: Check) -> Expansion:
    """The runbook's data with its includes' steps in place, and every include's errors."""
    out = Expansion(data=copy.deepcopy(source.data))
    if isinstance(out.data, dict):
        here = Included(source, file)
        _walk(
            out.data.get("steps"),
            (("steps",), ("steps",)),
            here,
            out,
            [os.path.realpath(file)],
            check,
        )
    return out


def locator(source: Source, file: str, found: dict[Path, Included]) -> Callable[[Path], str]:
    """``FILE:LINE:COLUMN`` of any path of the expanded runbook, in the file it came from."""

    def locate(where: Path) -> str:
        best: tuple[Path, Included] | None = None
        for prefix, inc in found.items():
            inside = where[: len(prefix) + 1] == (*prefix, "steps")
            if inside and (best is None or len(prefix) > len(best[0])):
                best = (prefix, inc)
        if best is None:
            line, col = source.value_at(where)
            return f"{file}:{line}:{col}"
        prefix, inc = best
        line, col = inc.source.value_at(("steps", *where[len(prefix) + 1 :]))
        return f"{inc.file}:{line}:{col}"

    return locate


def steps_file_errors(raw: bytes, file: str, check: Check) -> list[str] | None:
    """Every error of a file of steps checked on its own; None when it is not a list."""
    source, problems = parse(raw)
    if source is None or not isinstance(source.data, list):
        return None
    wrapped = as_document(source)
    errors = [p.render(file) for p in sorted(set(problems + check(wrapped)))]
    return errors + expand(wrapped, file, check).errors
