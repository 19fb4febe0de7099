"""Task names in runbooks, and the nornir task functions they stand for.

``acmeos.NAME`` names one of the built-in AcmeOS tasks; ``package.module:function``
names a user's own nornir task; any other dotted name is looked up in the
``acmerun.tasks`` entry-point group that task libraries register.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

BUILTIN_MODULE = "acmerun.plugins.tasks.acmeos"
BUILTIN_TASKS = (
    "get_version",
    "get_cpu_ram",
    "get_interfaces",
    "get_neighbors",
    "install_os_version",
    "upgrade_os",
    "reboot",
)
ENTRY_POINT_GROUP = "acmerun.tasks"
#: keyword arguments nornir's ``task.run`` keeps for itself
RESERVED_ARGS = ("name", "severity_level", "task")

TaskFunction = Callable[..., Any]


#: the attribute a task function carries when it supports check mode (``supports_check``)
CHECK_ATTRIBUTE = "acmerun_supports_check"
#: tasks of the engine itself, written without a prefix
ENGINE_TASKS = ("wait", "log")
ENGINE_MODULE = "acmerun.runbook.builtins"


def supports_check(fn: TaskFunction) -> TaskFunction:
    """Decorator: this task honours ``task.is_dry_run()``, so ``--check`` may run it."""
    setattr(fn, CHECK_ATTRIBUTE, True)
    return fn


def checks_safely(name: str, fn: TaskFunction) -> bool:
    """True when ``--check`` may run the task: a built-in, or one declared ``supports_check``."""
    return is_builtin(name) or getattr(fn, CHECK_ATTRIBUTE, False) is True


class TaskNotFound(Exception):
    """A task name that names no task; the message says why (with a did-you-mean)."""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word``, if one is close enough to be a likely typo."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = closest(word, choices)
    return f" (did you mean '{close}'?)" if close else ""


def is_builtin(name: str) -> bool:
    """True for ``acmeos.get_version``, the other built-in task names, ``wait`` and ``log``."""
    if name in ENGINE_TASKS:
        return True
    prefix, _, short = name.partition(".")
    return prefix == "acmeos" and short in BUILTIN_TASKS


@functools.lru_cache(maxsize=1)
def library_tasks() -> dict[str, Any]:
    """Entry points of the ``acmerun.tasks`` group, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _known_names() -> list[str]:
    return [f"acmeos.{n}" for n in BUILTIN_TASKS] + list(ENGINE_TASKS) + sorted(library_tasks())


_BUILTIN_HINT = f" (built-in tasks: {', '.join('acmeos.' + n for n in BUILTIN_TASKS)})"


def check_name(name: str) -> None:
    """Raise ``TaskNotFound`` unless ``name`` is a built-in or a library task (no import)."""
    if ":" in name or is_builtin(name) or name in library_tasks():
        return
    if name.startswith("acmeos."):
        close = closest(name.partition(".")[2], BUILTIN_TASKS)
        hint = f" (did you mean 'acmeos.{close}'?)" if close else ""
        raise TaskNotFound(f"unknown task '{name}'{hint or _BUILTIN_HINT}")
    hint = did_you_mean(name, _known_names())
    if not hint:
        hint = " (a task is acmeos.NAME, package.module:function or a task library's name)"
    raise TaskNotFound(f"unknown task '{name}'{hint}")


def resolve(name: str) -> TaskFunction:
    """The task function ``name`` stands for; raises ``TaskNotFound``."""
    check_name(name)
    if name in ENGINE_TASKS:
        module_name, attr = ENGINE_MODULE, name
    elif is_builtin(name):
        module_name, attr = BUILTIN_MODULE, name.partition(".")[2]
    elif ":" in name:
        module_name, _, attr = name.partition(":")
    else:
        try:
            loaded = library_tasks()[name].load()
        except Exception as error:
            raise TaskNotFound(f"cannot load task '{name}': {_one_line(error)}") from None
        return _callable(name, loaded)
    _search_working_directory()
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise TaskNotFound(
            f"cannot import '{module_name}' for task '{name}': {_one_line(error)}"
        ) from None
    if not hasattr(module, attr):
        public = [n for n in dir(module) if not n.startswith("_")]
        hint = did_you_mean(attr, public)
        raise TaskNotFound(f"module '{module_name}' has no task '{attr}'{hint}")
    return _callable(name, getattr(module, attr))


def _search_working_directory() -> None:
    """User tasks import from the working directory too, as with ``python -m``."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.append(cwd)


def _callable(name: str, value: Any) -> TaskFunction:
    if not callable(value):
        raise TaskNotFound(f"'{name}' is not a function")
    fn: TaskFunction = value
    return fn


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def arg_problems(
    name: str, fn: TaskFunction | inspect.Signature, args: Mapping[str, Any]
) -> list[tuple[str | None, str]]:
    """(arg or None, message) for each argument ``fn`` does not take and each it needs."""
    try:
        sig = fn if isinstance(fn, inspect.Signature) else inspect.signature(fn)
        params = list(sig.parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    keyword = {
        p.name: p
        for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in RESERVED_ARGS
    }
    problems: list[tuple[str | None, str]] = []
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        for arg in args:
            if arg not in keyword and arg not in RESERVED_ARGS:
                hint = did_you_mean(arg, keyword)
                problems.append((arg, f"task '{name}' takes no argument '{arg}'{hint}"))
    for param in keyword.values():
        if param.default is param.empty and param.name not in args:
            problems.append((None, f"task '{name}' needs the argument '{param.name}'"))
    return problems
