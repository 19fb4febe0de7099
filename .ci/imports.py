"""What the import contracts (setup.cfg, `lint-imports`) leave unchecked.

- no import cycle among acmerun's modules, imports inside functions included
  (those only for type checkers excluded: they never run);
- no module imports another module's _private name;
- no module of acmerun over 400 lines.

Prints each problem on its own line and exits 1 if there is one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "acmerun"
MAX_LINES = 400


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == module:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    sys.setrecursionlimit(10_000)
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def private_imports(path: Path, tree: ast.Module) -> list[str]:
    """``from X import _name`` where X is another module of acmerun."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        if not (source == PACKAGE or source.startswith(PACKAGE + ".")) or source == here:
            continue
        for alias in node.names:
            if alias.name.startswith("_") and not alias.name.startswith("__"):
                rel = path.relative_to(ROOT)
                problems.append(
                    f"{rel}:{node.lineno}: imports {source}.{alias.name}, a private name"
                )
    return problems


def main() -> int:
    problems: list[str] = []
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=True)
    for members in cycles(graph):
        problems.append("import cycle among: " + ", ".join(members))
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_LINES:
            problems.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {MAX_LINES})")
        problems.extend(private_imports(path, ast.parse(text, str(path))))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
