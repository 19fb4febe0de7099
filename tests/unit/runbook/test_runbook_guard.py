"""A host guard: its step runs first on every host; its verdict leaves a host untouched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from nornir.core.task import Result, Task

from acmerun.outcome import HostOutcome, Status
from acmerun.results import decode
from acmerun.runbook import load_runbook_text
from acmerun.runbook.compiler import compile_runbook
from acmerun.runbook.guard import HostGuard
from tests.unit.runbook import tasks_for_tests
from tests.unit.runbook.test_runbook_compiler import T, make_nornir, t

BODY = f"""name: guarded
steps:
  - {{name: install, task: '{T}:change', args: {{what: os}}}}
  - {{name: verify, task: '{T}:echo', args: {{value: 1}}}}
"""


@pytest.fixture(autouse=True)
def _reset_calls() -> Iterator[None]:
    t.CALLS.clear()
    yield
    t.CALLS.clear()


def state(task: Task) -> Result:
    return Result(host=task.host, result={"running": f"v-{task.host.name}"})


def run(guard: HostGuard, names: tuple[str, ...] = ("h1", "h2")) -> dict[str, HostOutcome]:
    compiled = compile_runbook(load_runbook_text(BODY, "rb.yml"), guard=guard)
    results = make_nornir(names, False).run(task=compiled.host_task, name="guarded")
    return decode(list(names), results)


def held_on_h2(host: str, found: Any) -> str | None:
    return f"changed: {found['running']}" if host == "h2" else None


def test_a_host_the_guard_holds_is_skipped_with_the_reason_and_runs_no_step() -> None:
    hosts = run(HostGuard("state", "guard.state", state, held_on_h2))
    h1, h2 = hosts["h1"], hosts["h2"]
    assert h1.status is Status.CHANGED
    assert [s.name for s in h1.steps] == ["state", "install", "verify"]
    assert h1.steps[0].result == {"running": "v-h1"}
    assert h2.status is Status.SKIPPED and h2.error == "changed: v-h2"
    assert [(s.name, s.status, s.error) for s in h2.steps] == [
        ("state", Status.OK, None),
        ("install", Status.SKIPPED, "changed: v-h2"),
        ("verify", Status.SKIPPED, "changed: v-h2"),
    ]
    assert not h2.changed
    assert [c for c in t.CALLS if "h2" in str(c)] == []


def test_an_unreachable_guard_step_leaves_the_host_unreachable_and_untouched() -> None:
    hosts = run(HostGuard("state", "guard.state", tasks_for_tests.unreachable, held_on_h2))
    for host in hosts.values():
        assert host.status is Status.UNREACHABLE
        assert host.error is not None and host.error.startswith("state: ")
        assert [s.status for s in host.steps[1:]] == [Status.SKIPPED, Status.SKIPPED]
        assert host.steps[1].error == "not run: state was unreachable"
    assert {what for _, what in t.CALLS} == {"unreachable"}
