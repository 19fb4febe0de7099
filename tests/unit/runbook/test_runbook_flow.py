"""register's outcome, rescue/always, until, loop, changed_when/failed_when, step vars."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from acmerun.errors import RunbookInvalid
from acmerun.outcome import HostOutcome, Status
from acmerun.results import decode
from acmerun.runbook import load_runbook_text
from acmerun.runbook.compiler import compile_runbook
from tests.unit.runbook.test_runbook_compiler import PASSWORD, T, make_nornir, t


@pytest.fixture(autouse=True)
def _reset_calls() -> Iterator[None]:
    t.CALLS.clear()
    yield
    t.CALLS.clear()


def run(
    body: str, names: tuple[str, ...] = ("h1",), dry_run: bool = False, **opts: Any
) -> dict[str, HostOutcome]:
    text = "name: flow\nvars: {n: 5, ports: [a, b, c]}\nsteps:\n" + body
    compiled = compile_runbook(load_runbook_text(text, "rb.yml"), **opts)
    nr = make_nornir(names, dry_run)
    results = nr.run(task=compiled.host_task, name=compiled.runbook.name)
    return decode(list(names), results)


def test_register_holds_the_outcome_and_the_result_keys() -> None:
    host = run(
        f"  - {{name: probe, task: '{T}:fail', register: res, ignore_errors: true}}\n"
        f"  - {{name: cpu, task: '{T}:echo', args: {{value: {{cpu: 7,"
        " status: mine}}, register: c}\n"
        f"  - task: '{T}:echo'\n"
        "    args: {value: '{{ [res.failed, res.status, res.attempts, c.cpu, c.status,"
        " c.result.status, c.changed] }}'}\n"
        "    when: res.failed\n"
    )["h1"]
    assert host.status is Status.OK
    assert host.steps[2].result == [True, "failed", 1, 7, "ok", "mine", False]


RESCUE = f"""  - name: upgrade
    steps:
      - {{name: install, task: '{T}:change', args: {{what: os}}}}
      - {{name: verify, task: '{T}:echo', args: {{value: 4}}, register: v, assert: v.result == n}}
    rescue:
      - {{name: roll back, task: '{T}:change', args: {{what: back}}}}
    always:
      - {{name: note, task: log, args: {{msg: 'done {{{{ v.status }}}}'}}}}
  - {{name: after, task: '{T}:echo', args: {{value: 1}}}}
"""


def test_rescue_runs_after_a_failed_assert_and_the_host_goes_on() -> None:
    host = run(RESCUE)["h1"]
    upgrade, after = host.steps
    assert host.status is Status.CHANGED and host.error is None
    assert upgrade.status is Status.RESCUED and not upgrade.failed
    assert upgrade.error == "verify: assertion failed: v.result == n (v.result = 4, n = 5)"
    assert [s.name for s in upgrade.steps] == ["install", "verify", "rescue", "always"]
    assert [s.name for s in upgrade.steps[2].steps] == ["roll back"]
    assert upgrade.steps[3].steps[0].result == "done failed"
    assert after.status is Status.OK


def test_a_step_whose_when_is_false_runs_none_of_its_steps_always_included() -> None:
    host = run(RESCUE.replace("  - name: upgrade\n", "  - name: upgrade\n    when: n > 9\n", 1))[
        "h1"
    ]
    upgrade, after = host.steps
    assert upgrade.status is Status.SKIPPED and upgrade.error == "when false: n > 9"
    assert [s.name for s in upgrade.steps] == ["install", "verify"]
    assert after.status is Status.OK


def test_a_failed_rescue_fails_the_step_and_always_still_runs() -> None:
    host = run(
        RESCUE.replace(
            f"{T}:change', args: {{what: back}}", f"{T}:fail', args: {{message: no way}}"
        )
    )["h1"]
    upgrade, after = host.steps
    assert host.status is Status.FAILED
    assert upgrade.status is Status.FAILED
    assert "rescue: roll back: RuntimeError: no way" in (upgrade.error or "")
    assert upgrade.steps[3].steps[0].status is Status.OK
    assert after.status is Status.SKIPPED


def test_an_unreachable_device_is_never_rescued() -> None:
    body = RESCUE.replace(f"{T}:change', args: {{what: os}}", f"{T}:unreachable', args: {{}}")
    host = run(body)["h1"]
    assert host.status is Status.UNREACHABLE
    assert host.steps[0].status is Status.UNREACHABLE
    assert [s.name for s in host.steps[0].steps] == ["install", "verify", "always"]


def test_until_retries_until_the_expression_holds_and_names_it_when_it_never_does() -> None:
    host = run(
        f"  - {{name: settle, task: '{T}:flaky', args: {{failures: 0}}, register: r,"
        " until: r.attempt >= 3, retries: 5}\n"
        f"  - {{name: never, task: '{T}:echo', args: {{value: 1}}, register: x,"
        " until: x.result > 1}\n"
    )["h1"]
    settle, never = host.steps
    assert (settle.status, settle.attempts) == (Status.OK, 3)
    assert never.status is Status.FAILED and never.attempts == 4
    assert never.error == "until after 4 attempts: not true: x.result > 1 (x.result = 1)"


def test_loop_runs_per_item_and_registers_the_list() -> None:
    host = run(
        f"  - {{name: each, task: '{T}:echo', loop: '{{{{ ports }}}}', loop_var: port,"
        " args: {value: 'p-{{ port }}'}, register: out}\n"
        f"  - {{name: all, task: '{T}:echo',"
        f" args: {{value: '{{{{ out | map(attribute=\"result\") | list }}}}'}}}}\n"
        f"  - {{name: bad, task: '{T}:echo', loop: [1, 6, 2], args: {{value: 0}},"
        " assert: item < n}\n"
    )["h1"]
    each, total, bad = host.steps
    assert [s.name for s in each.steps] == ["each [0] a", "each [1] b", "each [2] c"]
    assert total.result == ["p-a", "p-b", "p-c"]
    assert bad.status is Status.FAILED
    assert [s.status for s in bad.steps] == [Status.OK, Status.FAILED, Status.OK]
    assert bad.error == "bad [1] 6: assertion failed: item < n (item = 6, n = 5)"


def test_changed_when_and_failed_when_judge_the_result() -> None:
    host = run(
        f"  - {{name: quiet, task: '{T}:change', args: {{what: x}}, changed_when: false}}\n"
        f"  - {{name: loud, task: '{T}:echo', args: {{value: 9}}, register: r,"
        " changed_when: r.result > 5}\n"
        f"  - {{name: judged, task: '{T}:echo', args: {{value: 9}}, register: r,"
        " failed_when: r.result > n}\n"
    )["h1"]
    quiet, loud, judged = host.steps
    assert (quiet.status, quiet.changed) == (Status.OK, False)
    assert (loud.status, loud.changed) == (Status.CHANGED, True)
    assert judged.error == "failed_when: r.result > n (r.result = 9, n = 5)"


def test_step_vars_are_templated_scoped_and_lose_to_extra_vars() -> None:
    host = run(
        "  - name: group\n"
        "    vars: {m: '{{ n * 2 }}', e: step, n: 7}\n"
        "    steps:\n"
        f"      - {{task: '{T}:echo', args: {{value: '{{{{ [m, e, n] }}}}'}}}}\n"
        f"  - {{task: '{T}:echo', args: {{value: '{{{{ n }}}}'}}}}\n",
        extra_vars={"e": "extra"},
    )["h1"]
    assert host.steps[0].steps[0].result == [10, "extra", 7]
    assert host.steps[1].result == 5


def test_templated_step_names_and_runbook_name() -> None:
    text = (
        "name: 'Upgrade to {{ target_version }}'\nvars: {target_version: 5.4.1}\nsteps:\n"
        f"  - {{name: 'echo on {{{{ inventory_hostname }}}}', task: '{T}:echo'}}\n"
    )
    compiled = compile_runbook(
        load_runbook_text(text, "rb.yml"), extra_vars={"target_version": "5.4.2"}
    )
    assert compiled.runbook.name == "Upgrade to 5.4.2"
    nr = make_nornir(("h1",))
    outcome = decode(["h1"], nr.run(task=compiled.host_task))["h1"]
    assert outcome.steps[0].name == "echo on h1"


def test_no_log_masks_result_and_error() -> None:
    host = run(
        f"  - {{name: secret, task: '{T}:echo', args: {{value: s3cr3t}}, no_log: true}}\n"
        f"  - {{name: boom, task: '{T}:fail', args: {{message: s3cr3t}}, no_log: true,"
        " ignore_errors: true}\n"
    )["h1"]
    assert "s3cr3t" not in repr(host.to_dict())
    assert PASSWORD not in repr(host.to_dict())
    assert host.steps[0].result == "********"


def test_check_mode_skips_an_undeclared_task_and_check_mode_false_runs_it() -> None:
    host = run(
        f"  - {{name: undeclared, task: '{T}:fail'}}\n"
        f"  - {{name: forced, task: '{T}:flaky', args: {{failures: 0}}, check_mode: false}}\n"
        f"  - {{name: declared, task: '{T}:change', args: {{what: x}}}}\n",
        dry_run=True,
    )["h1"]
    undeclared, forced, declared = host.steps
    assert (undeclared.status, undeclared.error) == (Status.SKIPPED, "does not support check mode")
    assert forced.status is Status.OK and t.CALLS[("h1", "flaky")] == 1
    assert declared.status is Status.CHANGED
    assert ("h1", "fail") not in t.CALLS


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            f"  - {{task: '{T}:echo', rescue: [{{task: log, args: {{msg: x}}}}]}}\n",
            "rb.yml:4:55: steps[0]: 'rescue' needs 'steps' (or 'include'): it runs "
            "after nested steps",
        ),
        (
            f"  - {{task: '{T}:echo', loop: [1], loop_var: count}}\n",
            "rb.yml:4:76: steps[0].loop_var: loop_var 'count' is already a variable "
            "or a registered name: use another name",
        ),
        (
            f"  - {{task: '{T}:echo', loop: [1], loop_var: range}}\n",
            "rb.yml:4:76: steps[0].loop_var: loop_var 'range' is a reserved name in "
            "templates: use another name",
        ),
        (
            "  - {steps: [{task: log, args: {msg: x}}], until: x}\n",
            "rb.yml:4:44: steps[0]: 'until' needs a 'task': a step with nested "
            "'steps' has no until",
        ),
        (f"  - {{task: '{T}:echo', until: 'x ==', retries: 1}}\n", "rb.yml:4:"),
        (
            "  - {task: wait, args: {}}\n",
            "rb.yml:4:24: steps[0].args: task 'wait' needs the argument 'seconds'",
        ),
    ],
)
def test_validate_locates_misuse(body: str, expected: str) -> None:
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook_text("name: flow\nvars: {n: 5, count: 1}\nsteps:\n" + body, "rb.yml")
    assert any(e.startswith(expected) for e in raised.value.errors), raised.value.errors


def test_run_once_runs_on_one_host_and_every_host_sees_its_result() -> None:
    hosts = run(
        f"  - {{name: once, task: '{T}:flaky', args: {{failures: 0}}, register: r,"
        " run_once: true}\n"
        f"  - {{name: seen, task: '{T}:echo', args: {{value: '{{{{ r.result.attempt }}}}'}}}}\n",
        names=("h1", "h2", "h3"),
    )
    assert sum(n for (_, what), n in t.CALLS.items() if what == "flaky") == 1
    assert sorted(h.steps[0].attempts for h in hosts.values()) == [0, 0, 1]
    assert {h.steps[1].result for h in hosts.values()} == {1}
    assert {h.status for h in hosts.values()} == {Status.OK}


def test_a_failed_run_once_step_fails_every_host() -> None:
    hosts = run(f"  - {{name: once, task: '{T}:fail', run_once: true}}\n", names=("h1", "h2"))
    assert {h.status for h in hosts.values()} == {Status.FAILED}
    errors = sorted(h.steps[0].error or "" for h in hosts.values())
    assert errors[0] == "RuntimeError: boom"
    assert errors[1].startswith("run_once on h") and errors[1].endswith(": RuntimeError: boom")
