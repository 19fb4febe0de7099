"""The lab is a package of its own: it needs nothing of acmerun but the protocol constants."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

LAB = Path(__file__).resolve().parents[3] / "acmerun" / "lab"
#: what of acmerun, outside the lab, a lab module may import
ALLOWED = {"acmerun.acmeos.defaults"}


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at run time or for type checking alike."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def lab_modules() -> dict[str, Path]:
    return {
        "acmerun.lab" if p.stem == "__init__" else f"acmerun.lab.{p.stem}": p
        for p in sorted(LAB.glob("*.py"))
        if p.stem != "__main__"
    }


def test_lab_modules_import_only_the_lab_and_the_protocol_constants() -> None:
    modules = lab_modules()
    assert "acmerun.lab.server" in modules and "acmerun.lab.state" in modules
    outside = {
        name: sorted(
            m
            for m in imports(path)
            if (m == "acmerun" or m.startswith("acmerun."))
            and m not in ALLOWED
            and m != "acmerun.lab"
            and not m.startswith("acmerun.lab.")
        )
        for name, path in modules.items()
    }
    assert outside == {name: [] for name in modules}


def test_the_only_way_out_is_the_entry_point_running_the_cli() -> None:
    found = {m for m in imports(LAB / "__main__.py") if m.startswith("acmerun")}
    assert found == {"acmerun.cli.lab"}


def test_no_import_cycle_inside_the_lab_not_even_for_type_checking() -> None:
    modules = lab_modules()
    graph = {name: {m for m in imports(path) if m in modules} for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for nxt in sorted(graph[name]):
            assert state.get(nxt) != "open", " -> ".join([*trail, name, nxt])
            if nxt not in state:
                visit(nxt, [*trail, name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert graph["acmerun.lab.inventory"] & {"acmerun.lab.server"} == set()


def test_a_running_lab_loads_nothing_of_acmerun_but_the_client_package(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from acmerun.lab import Lab, LabConfig\n"
        f"with Lab(LabConfig(sites=1, leaves=0, state_file={str(tmp_path / 's.json')!r})):\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('acmerun')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = ast.literal_eval(done.stdout)
    assert "acmerun.lab.server" in loaded and "acmerun.lab.state" in loaded
    # the acmerun package itself (and the constants its __init__ names) come with any import
    package = ("acmerun", "acmerun.defaults")
    others = [
        m
        for m in loaded
        if m not in package and not m.startswith(("acmerun.lab", "acmerun.acmeos"))
    ]
    assert others == []
