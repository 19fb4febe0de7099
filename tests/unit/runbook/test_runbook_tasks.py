"""Task names: built-ins, a user's module:function, and task libraries' entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from acmerun.errors import RunbookInvalid
from acmerun.runbook import load_runbook_text, tasks
from acmerun.runbook.compiler import compile_runbook

T = "tests.unit.runbook.tasks_for_tests"


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task library registering ``mylib.thing`` in the ``acmerun.tasks`` group."""
    point = EntryPoint(name="mylib.thing", value=f"{T}:change", group=tasks.ENTRY_POINT_GROUP)
    broken = EntryPoint(name="mylib.broken", value="no_such_lib.x:y", group=tasks.ENTRY_POINT_GROUP)
    monkeypatch.setattr(tasks, "library_tasks", lambda: {p.name: p for p in (point, broken)})


def test_builtin_names_resolve_lazily_to_the_acmeos_tasks() -> None:
    from acmerun.plugins.tasks import acmeos

    for name in tasks.BUILTIN_TASKS:
        assert tasks.resolve(f"acmeos.{name}") is getattr(acmeos, name)


def test_library_tasks_come_from_the_entry_point_group(library: None) -> None:
    text = "name: lib\nsteps:\n  - task: mylib.thing\n    args: {what: x}\n"
    compiled = compile_runbook(load_runbook_text(text, "lib.yml"))
    assert compiled.step_lines() == ["mylib.thing (mylib.thing)"]
    assert tasks.resolve("mylib.thing").__name__ == "change"


def test_library_task_arguments_are_checked_and_names_suggested(library: None) -> None:
    text = (
        "name: lib\nsteps:\n"
        "  - {task: mylib.thing, args: {wat: x}}\n"
        "  - task: mylib.thnig\n"
        "  - task: mylib.broken\n"
    )
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook_text(text, "lib.yml")
    assert raised.value.errors == [
        "lib.yml:3:31: steps[0].args: task 'mylib.thing' needs the argument 'what'",
        "lib.yml:3:32: steps[0].args: task 'mylib.thing' takes no argument 'wat'"
        " (did you mean 'what'?)",
        "lib.yml:4:11: steps[1].task: unknown task 'mylib.thnig' (did you mean 'mylib.thing'?)",
        "lib.yml:5:11: steps[2].task: cannot load task 'mylib.broken':"
        " ModuleNotFoundError: No module named 'no_such_lib'",
    ]


def test_tasks_taking_any_keyword_accept_every_argument() -> None:
    text = f"name: kw\nsteps:\n  - {{task: '{T}:anything', args: {{anything: 1}}}}\n"
    assert load_runbook_text(text, "kw.yml").steps[0].args == {"anything": 1}
