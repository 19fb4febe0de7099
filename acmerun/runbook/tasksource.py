"""A user's ``package.module:function`` task read from its source, never imported.

Validating a runbook runs none of the repository's code: the module is found on the
import path the run would use (``sys.path`` and the working directory), parsed with
``ast``, and the function's parameters read from its ``def``. What cannot be known
without running the module (a name bound by an import or a call) is left to the run.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from acmerun.runbook.tasks import TaskNotFound, did_you_mean

_LITERALS = (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr)


def _find(part: str, search: list[str]) -> tuple[str | None, list[str] | None] | None:
    """(source file or None, the package's folders or None) of ``part`` in ``search``."""
    namespace: list[str] = []
    for folder in search:
        base = os.path.join(folder, part)
        init = os.path.join(base, "__init__.py")
        if os.path.isfile(init):
            return init, [base]
        if os.path.isfile(base + ".py"):
            return base + ".py", None
        for suffix in EXTENSION_SUFFIXES:
            if os.path.isfile(base + suffix):
                return None, None
        if os.path.isdir(base):
            namespace.append(base)
    return (None, namespace) if namespace else None


def _module_file(module: str, task: str) -> Path | None:
    """The source file of ``module``, found without importing it or its packages."""
    search: list[str] | None = [p or os.getcwd() for p in sys.path] + [os.getcwd()]
    origin: str | None = None
    parts = module.split(".")
    for i, part in enumerate(parts):
        if search is None:
            name = ".".join(parts[:i])
            raise TaskNotFound(
                f"cannot import '{module}' for task '{task}': "
                f"ModuleNotFoundError: No module named '{module}'; '{name}' is not a package"
            )
        found = _find(part, search)
        if found is None:
            raise TaskNotFound(
                f"cannot import '{module}' for task '{task}': "
                f"ModuleNotFoundError: No module named '{'.'.join(parts[: i + 1])}'"
            )
        origin, search = found
    return Path(origin) if origin else None


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> inspect.Signature:
    a = fn.args
    kind = inspect.Parameter
    params: list[inspect.Parameter] = []
    positional = [*a.posonlyargs, *a.args]
    first_default = len(positional) - len(a.defaults)
    for i, arg in enumerate(positional):
        how = kind.POSITIONAL_ONLY if i < len(a.posonlyargs) else kind.POSITIONAL_OR_KEYWORD
        default = None if i >= first_default else kind.empty
        params.append(kind(arg.arg, how, default=default))
    if a.vararg is not None:
        params.append(kind(a.vararg.arg, kind.VAR_POSITIONAL))
    for arg, given in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        params.append(
            kind(arg.arg, kind.KEYWORD_ONLY, default=kind.empty if given is None else None)
        )
    if a.kwarg is not None:
        params.append(kind(a.kwarg.arg, kind.VAR_KEYWORD))
    return inspect.Signature(params)


def signature(task: str) -> inspect.Signature | None:
    """The parameters of ``module:function`` read from its source; None when unknowable.

    Raises ``TaskNotFound`` when the module is not on the path, the module defines no
    such name, or binds it to a literal (not a function).
    """
    module, _, attr = task.partition(":")
    file = _module_file(module, task)
    if file is None:
        return None
    try:
        tree = ast.parse(file.read_bytes(), str(file))
    except (OSError, SyntaxError, ValueError):
        return None  # the run reports what importing it says
    found: ast.AST | None = None
    names: list[str] = []
    uncertain = False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            uncertain = uncertain or any(alias.name == "*" for alias in node.names)
            bound = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound = [t.id for t in targets if isinstance(t, ast.Name)]
        else:
            # names bound under if/try/for/with: known only by running the module
            uncertain = uncertain or not isinstance(node, (ast.Expr, ast.Pass))
            continue
        names.extend(bound)
        if attr in bound:
            found = node
    if found is None and uncertain:
        return None
    if found is None:
        public = [n for n in names if not n.startswith("_")]
        hint = did_you_mean(attr, public)
        raise TaskNotFound(f"module '{module}' has no task '{attr}'{hint}")
    if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)):
        # a decorator may change the signature; ``supports_check`` does not
        changed = [d for d in found.decorator_list if not declares_check(d)]
        return None if changed else _parameters(found)
    value = getattr(found, "value", None)
    if isinstance(value, _LITERALS):
        raise TaskNotFound(f"'{task}' is not a function")
    return None


def declares_check(decorator: ast.expr) -> bool:
    """True for ``@supports_check`` or ``@anything.supports_check`` (check mode declared)."""
    if isinstance(decorator, ast.Name):
        return decorator.id == "supports_check"
    return isinstance(decorator, ast.Attribute) and decorator.attr == "supports_check"
