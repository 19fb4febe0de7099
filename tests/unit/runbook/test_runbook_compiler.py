"""The compiled runbook run by nornir on in-memory hosts, with test tasks."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.state import GlobalState
from nornir.core.task import AggregatedResult, MultiResult, Result
from nornir.plugins.runners import ThreadedRunner

from acmerun.errors import BadOptions, RunbookInvalid
from acmerun.outcome import HostOutcome, NotRun, NotRunKind, Status
from acmerun.results import decode, not_run
from acmerun.runbook import load_runbook_text
from acmerun.runbook.compiler import CompiledRunbook, compile_runbook
from acmerun.runbook.tasks import resolve
from acmerun.stop import StopToken

T = "tests.unit.runbook.tasks_for_tests"
#: the test tasks' module, exactly as runbooks import it
t = sys.modules[resolve(f"{T}:echo").__module__]
PASSWORD = "hunter2-Secret"


@pytest.fixture(autouse=True)
def _reset_calls() -> Iterator[None]:
    t.CALLS.clear()
    yield
    t.CALLS.clear()


def make_nornir(names: tuple[str, ...] = ("h1",), dry_run: bool = False, **data: Any) -> Nornir:
    hosts = Hosts()
    for i, name in enumerate(names):
        host_data = {"site": "earth", "dev_type": "leaf", "rack": i, **data}
        hosts[name] = Host(name=name, password=PASSWORD, data=host_data, defaults=Defaults())
    inventory = Inventory(hosts=hosts, groups=Groups(), defaults=Defaults())
    return Nornir(
        inventory=inventory, runner=ThreadedRunner(num_workers=5), data=GlobalState(dry_run)
    )


def compile_text(text: str, **options: Any) -> CompiledRunbook:
    extra_names = options.get("extra_vars") or {}
    return compile_runbook(load_runbook_text(text, "rb.yml", extra_names), **options)


Run = Callable[..., tuple[dict[str, HostOutcome], AggregatedResult]]


@pytest.fixture
def run() -> Run:
    def go(
        text: str, names: tuple[str, ...] = ("h1",), dry_run: bool = False, **options: Any
    ) -> tuple[dict[str, HostOutcome], AggregatedResult]:
        compiled = compile_text(text, **options)
        nr = make_nornir(names, dry_run)
        results = nr.run(task=compiled.host_task, name=compiled.runbook.name)
        return decode(list(names), results), results

    return go


def steps(*lines: str) -> str:
    return "name: test\nvars: {n: 5, word: hello}\nsteps:\n" + "\n".join(lines) + "\n"


def test_steps_run_in_order_and_register_results_for_later_steps(run: Run) -> None:
    outcomes, _ = run(
        steps(
            f"  - {{name: first, task: '{T}:echo', args: {{value: {{cpu: 93.2}}}}, register: res}}",
            f"  - {{name: second, task: '{T}:echo', args: {{value: '{{{{ res.cpu }}}}'}}}}",
            f"  - {{name: third, task: '{T}:echo', args: {{value: 'cpu={{{{ res.cpu }}}}'}}}}",
        )
    )
    host = outcomes["h1"]
    assert host.status is Status.OK
    assert [(s.name, s.status, s.result) for s in host.steps] == [
        ("first", Status.OK, {"cpu": 93.2}),
        ("second", Status.OK, 93.2),
        ("third", Status.OK, "cpu=93.2"),
    ]
    assert all(s.attempts == 1 and s.task == f"{T}:echo" for s in host.steps)


def test_variable_precedence_vars_host_data_registered_extra(run: Run) -> None:
    text = (
        "name: p\nvars: {site: from-vars, a: vars, b: vars, c: vars}\nsteps:\n"
        f"  - {{task: '{T}:echo', args: {{value: host}}, register: b}}\n"
        f"  - {{task: '{T}:echo', args: {{value: host}}, register: c}}\n"
        f"  - task: '{T}:echo'\n"
        "    args: {value: '{{ [site, a, b.result, c, inventory_hostname,"
        ' check_mode] | join(" ") }}\'}\n'
    )
    outcomes, _ = run(text, extra_vars={"c": "extra"})
    assert outcomes["h1"].steps[2].result == "earth vars host extra h1 False"


def test_native_values_for_single_expressions(run: Run) -> None:
    outcomes, _ = run(
        steps(f"  - {{task: '{T}:echo', args: {{value: ['{{{{ n }}}}', '{{{{ n + 1 }}}}', 7]}}}}")
    )
    assert outcomes["h1"].steps[0].result == [5, 6, 7]


def test_when_false_skips_and_reads_host_data(run: Run) -> None:
    outcomes, _ = run(
        steps(
            f"  - {{name: mars only, task: '{T}:change', args: {{what: x}}, when: site == 'mars'}}",
            f"  - {{name: earth, task: '{T}:change', args: {{what: x}}, when: site == 'earth'}}",
        )
    )
    skipped, ran = outcomes["h1"].steps
    assert (skipped.status, skipped.attempts, skipped.changed) == (Status.SKIPPED, 0, False)
    assert (ran.status, ran.changed) == (Status.CHANGED, True)
    assert outcomes["h1"].status is Status.CHANGED


def test_failing_assert_shows_the_expression_and_values(run: Run) -> None:
    outcomes, _ = run(
        steps(
            f"  - task: '{T}:echo'\n    args: {{value: {{cpu: 93.2}}}}\n    register: res\n"
            "    assert: ['res.cpu > 0', 'res.cpu < 80']",
            f"  - {{name: after, task: '{T}:echo'}}",
        )
    )
    host = outcomes["h1"]
    check, after = host.steps
    assert check.status is Status.FAILED and check.failed
    assert check.error == "assertion failed: res.cpu < 80 (res.cpu = 93.2)"
    assert after.status is Status.SKIPPED
    assert host.status is Status.FAILED
    assert host.error == f"{T}:echo: assertion failed: res.cpu < 80 (res.cpu = 93.2)"


def test_undefined_variables_fail_the_step_with_the_name(run: Run) -> None:
    # defined when validated (a register), no result at run time (its step was skipped)
    outcomes, _ = run(
        steps(
            f"  - {{name: s, task: '{T}:echo', args: {{value: 1}}, when: false, register: nope}}",
            f"  - {{name: a, task: '{T}:echo', args: {{value: '{{{{ nope.result.x }}}}'}},"
            " retries: 3}",
        )
    )
    (_, step) = outcomes["h1"].steps
    assert (step.status, step.attempts) == (Status.FAILED, 1)
    assert step.error == "args: UndefinedError: 'None' has no attribute 'x'"


def test_retries_with_delay_and_backoff(run: Run) -> None:
    started = time.monotonic()
    outcomes, results = run(
        steps(
            f"  - {{name: flaky, task: '{T}:flaky', args: {{failures: 2}},"
            " retries: 2, delay: 0.1, backoff: 2}"
        )
    )
    elapsed = time.monotonic() - started
    (step,) = outcomes["h1"].steps
    assert (step.status, step.attempts, step.result) == (Status.OK, 3, {"attempt": 3})
    assert elapsed >= 0.3  # 0.1 then 0.2
    assert not results["h1"].failed  # failed attempts that were retried are not kept


def test_retries_run_out(run: Run) -> None:
    outcomes, results = run(
        steps(f"  - {{name: flaky, task: '{T}:flaky', args: {{failures: 5}}, retries: 1}}")
    )
    (step,) = outcomes["h1"].steps
    assert (step.status, step.attempts) == (Status.FAILED, 2)
    assert step.error == "RuntimeError: attempt 2 failed"
    assert results["h1"].failed and results["h1"][0].failed


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ("auth", "authentication failed (user 'netops')"),
        ("version", "invalid AcmeOS version '5.x': expected X.Y.Z, e.g. '5.4.1'"),
    ],
)
def test_no_retry_for_authentication_or_invalid_version(run: Run, error: str, message: str) -> None:
    outcomes, _ = run(
        steps(f"  - {{task: '{T}:flaky', args: {{failures: 5, error: {error}}}, retries: 3}}")
    )
    (step,) = outcomes["h1"].steps
    assert (step.status, step.attempts, step.error) == (Status.FAILED, 1, message)


@pytest.mark.parametrize("task", ["unreachable", "nested_unreachable"])
def test_unreachable_stops_the_host_even_with_ignore_errors(run: Run, task: str) -> None:
    outcomes, _ = run(
        steps(
            f"  - {{name: reach, task: '{T}:{task}', retries: 1, ignore_errors: true}}",
            f"  - {{name: next, task: '{T}:echo'}}",
        )
    )
    host = outcomes["h1"]
    reach, after = host.steps
    assert (reach.status, reach.attempts) == (Status.UNREACHABLE, 2)
    assert reach.error == "problem communicating with device"
    assert after.status is Status.SKIPPED
    assert host.status is Status.UNREACHABLE
    assert host.error == "reach: problem communicating with device"


def test_ignore_errors_reports_the_failure_and_goes_on(run: Run) -> None:
    outcomes, results = run(
        steps(
            f"  - {{name: boom, task: '{T}:fail', ignore_errors: true}}",
            f"  - {{name: next, task: '{T}:change', args: {{what: x}}}}",
        )
    )
    host = outcomes["h1"]
    boom, after = host.steps
    assert (boom.status, boom.failed) == (Status.FAILED, True)
    assert boom.error == "RuntimeError: boom (ignored)"
    assert after.status is Status.CHANGED
    assert host.status is Status.CHANGED
    assert not results["h1"].failed


def test_timeout_fails_the_step_naming_the_timeout(run: Run) -> None:
    outcomes, _ = run(steps(f"  - {{task: '{T}:sleep', args: {{seconds: 0.6}}, timeout: 0.1}}"))
    (step,) = outcomes["h1"].steps
    assert step.status is Status.FAILED
    assert step.error == "step timed out after 0.1s (its timeout)"


#: renders for far longer than a step timeout of 0.1 s (each operation is short)
SLOW_ARGS = "{% for a in range(1000) %}{% for b in range(900) %}{{ b }}{% endfor %}{% endfor %}"


def test_timeout_covers_rendering_the_steps_arguments(run: Run) -> None:
    step_text = f"  - {{task: '{T}:echo', args: {{value: '{SLOW_ARGS}'}}, timeout: 0.1}}"
    started = time.monotonic()
    outcomes, _ = run(steps(step_text))
    (step,) = outcomes["h1"].steps
    assert step.status is Status.FAILED
    assert step.error == (
        "args: step timed out after 0.1s (its timeout) while its arguments were rendered"
    )
    assert t.CALLS == {}, "the task ran although its arguments never finished rendering"
    assert time.monotonic() - started < 10  # generous: the render stops at its deadline


def test_an_interrupt_stops_rendering_the_steps_arguments(run: Run) -> None:
    stop = StopToken()

    class InterruptedWhileIterated:
        """Items whose iteration is where the interrupt arrives: mid-render."""

        def __iter__(self) -> Iterator[int]:
            stop.interrupt()
            yield from range(10**9)

    template = "{% for a in items %}{{ a }}{% endfor %}"
    outcomes, _ = run(
        steps(f"  - {{task: '{T}:echo', args: {{value: '{template}'}}}}"),
        stop=stop,
        extra_vars={"items": InterruptedWhileIterated()},
    )
    (step,) = outcomes["h1"].steps
    assert step.status is Status.INTERRUPTED
    assert step.error == "interrupted while its arguments were rendered"
    assert t.CALLS == {}


def test_nested_steps_nest_in_outcomes_and_in_nornir_results(run: Run) -> None:
    text = steps(
        "  - name: outer",
        "    steps:",
        f"      - {{name: inner one, task: '{T}:change', args: {{what: a}}}}",
        "      - name: inner group",
        "        steps:",
        f"          - {{name: deepest, task: '{T}:nested', args: {{value: 1}}, register: d}}",
        "    assert: d.result == 1",
        f"  - {{name: last, task: '{T}:echo', args: {{value: '{{{{ d.result }}}}'}}}}",
    )
    outcomes, results = run(text)
    host = outcomes["h1"]
    outer, last = host.steps
    assert (outer.name, outer.task, outer.status, outer.changed) == (
        "outer",
        "steps",
        Status.CHANGED,
        True,
    )
    assert [s.name for s in outer.steps] == ["inner one", "inner group"]
    assert [s.name for s in outer.steps[1].steps] == ["deepest"]
    assert last.result == 1

    def names(multi: MultiResult | Result) -> list[Any]:
        if isinstance(multi, MultiResult):
            return [names(r) for r in multi]
        return [multi.name]

    assert names(results["h1"]) == [
        ["test"],
        [["outer"], ["inner one"], [["inner group"], [["deepest"], ["echo"]]]],
        ["last"],
    ]


def test_failure_inside_nested_steps_fails_the_group_and_the_host(run: Run) -> None:
    text = steps(
        "  - name: group",
        "    steps:",
        f"      - {{name: boom, task: '{T}:fail', args: {{message: 'bad thing'}}}}",
        f"      - {{name: never, task: '{T}:echo'}}",
        f"  - {{name: after, task: '{T}:echo'}}",
    )
    outcomes, _ = run(text)
    group, after = outcomes["h1"].steps
    assert group.status is Status.FAILED
    assert group.error == "boom: RuntimeError: bad thing"
    assert [s.status for s in group.steps] == [Status.FAILED, Status.SKIPPED]
    assert after.status is Status.SKIPPED
    assert outcomes["h1"].status is Status.FAILED


def test_steps_not_run_say_why_and_keep_their_nested_shape(run: Run) -> None:
    checks = [
        "    steps:",
        f"      - {{name: version, task: '{T}:echo'}}",
        f"      - {{name: cpu, task: '{T}:echo'}}",
    ]
    text = steps(
        f"  - {{name: only mars, task: '{T}:echo', when: site == 'mars'}}",
        "  - name: mars checks",
        "    when: site == 'mars'",
        *checks,
        f"  - {{name: boom, task: '{T}:fail'}}",
        "  - name: post-checks",
        *checks,
    )
    outcomes, _ = run(text)
    only_mars, mars_checks, _, post = outcomes["h1"].steps
    assert (only_mars.status, only_mars.error) == (Status.SKIPPED, "when false: site == 'mars'")
    for group, reason in (
        (mars_checks, "when false: site == 'mars'"),
        (post, "not run: boom failed"),
    ):
        assert (group.status, group.error) == (Status.SKIPPED, reason)
        assert [(s.name, s.status, s.error) for s in group.steps] == [
            ("version", Status.SKIPPED, reason),
            ("cpu", Status.SKIPPED, reason),
        ]
    assert outcomes["h1"].error == "boom: RuntimeError: boom"


def test_ignored_failure_inside_a_group_does_not_fail_the_group(run: Run) -> None:
    text = steps(
        "  - name: group",
        "    steps:",
        f"      - {{name: boom, task: '{T}:fail', ignore_errors: true}}",
        f"      - {{name: fine, task: '{T}:echo'}}",
    )
    outcomes, results = run(text)
    (group,) = outcomes["h1"].steps
    assert group.status is Status.OK
    assert [s.status for s in group.steps] == [Status.FAILED, Status.OK]
    assert outcomes["h1"].status is Status.OK
    assert not results["h1"].failed


def test_errors_are_one_line_and_never_show_the_password(run: Run) -> None:
    outcomes, _ = run(steps(f"  - {{task: '{T}:secret_error'}}"))
    (step,) = outcomes["h1"].steps
    assert step.error == "RuntimeError: login with ******** refused second line"


def test_results_are_json_safe_and_masked(run: Run) -> None:
    outcomes, _ = run(steps(f"  - {{task: '{T}:odd'}}"))
    result = outcomes["h1"].steps[0].result
    assert result["password"] == "********"
    assert isinstance(result["when"], str) and sorted(result["items"]) == [1, 2]


def test_check_mode_is_nornir_dry_run(run: Run) -> None:
    text = steps(
        f"  - {{task: '{T}:echo', args: {{value: '{{{{ check_mode }}}}', changed: true}}}}"
    )
    outcomes, _ = run(text, dry_run=True)
    assert outcomes["h1"].steps[0].result is True
    assert outcomes["h1"].steps[0].changed is False  # echo changes nothing in dry-run


def test_tags_and_skip_tags_select_steps() -> None:
    text = steps(
        f"  - {{name: a, task: '{T}:echo', tags: [pre]}}",
        f"  - {{name: b, task: '{T}:echo', tags: [upgrade]}}",
        "  - name: g",
        "    tags: [post]",
        "    steps:",
        f"      - {{name: c, task: '{T}:echo'}}",
        f"      - {{name: d, task: '{T}:echo', tags: [slow]}}",
        f"  - {{name: e, task: '{T}:echo', tags: [always]}}",
    )
    listed = [line.split(" (")[0].strip() for line in compile_text(text).step_lines()]
    assert listed == ["a", "b", "g", "c", "d", "e"]
    only_post = compile_text(text, tags=["post"]).step_lines()
    assert [line.split(" (")[0].strip() for line in only_post] == ["g", "c", "d", "e"]
    skipped = compile_text(text, skip_tags=["slow", "upgrade"]).step_lines()
    assert [line.split(" (")[0].strip() for line in skipped] == ["a", "g", "c", "e"]
    from acmerun.session.prepare import check_tags

    runbook = load_runbook_text(text, "rb.yml")
    with pytest.raises(BadOptions) as raised:
        check_tags(runbook, ("post",), ("post", "always"))
    assert str(raised.value) == (
        "--tags post selects no step of rb.yml (its tags: always, post, pre, slow, upgrade)"
    )
    with pytest.raises(BadOptions) as raised:
        check_tags(runbook, (), ("upgarde",))
    assert str(raised.value) == (
        "--skip-tags upgarde: no step of rb.yml has this tag "
        "(its tags: always, post, pre, slow, upgrade); did you mean 'upgrade'?"
    )


def test_step_lines_show_nesting_tags_and_when() -> None:
    text = steps(
        "  - name: checks",
        "    steps:",
        f"      - {{name: cpu, task: '{T}:echo', tags: [pre, cpu], when: site == 'earth'}}",
        f"  - {{task: '{T}:echo'}}",
    )
    assert compile_text(text).step_lines() == [
        "checks (steps)",
        f"  cpu ({T}:echo)  tags: pre, cpu  when: site == 'earth'",
        f"{T}:echo ({T}:echo)",
    ]


#: Python code compiled while ``_watch_compiles`` is on: (filename, first line of source)
_compiled: list[tuple[str, str]] | None = None


def _count_compiles(event: str, args: tuple[Any, ...]) -> None:
    if event == "compile" and _compiled is not None:
        source, filename = args
        text = source.decode("utf-8", "replace") if isinstance(source, bytes) else str(source)
        _compiled.append((str(filename), text.split("\n", 1)[0]))


sys.addaudithook(_count_compiles)  # stays for the process; records only while watched


def test_hosts_render_templates_without_compiling_any_code() -> None:
    """Every template is turned into code with the runbook: running a host only evaluates.

    Python raises an audit event for every ``compile()``, Jinja's included; none may
    happen while 20 hosts render ``args``, ``when`` and ``assert`` templates.
    """
    global _compiled
    text = steps(
        f"  - {{task: '{T}:echo', args: {{value: 'v{{{{ n }}}}'}}, register: r, when: n > 1}}",
        f"  - {{task: '{T}:echo', args: {{value: '{{{{ r.result }}}}'}},"
        " assert: [r.result == 'v5']}",
    )
    compiled = compile_text(text)
    nr = make_nornir(tuple(f"h{i}" for i in range(20)))
    _compiled = []
    try:
        results = nr.run(task=compiled.host_task)
        seen, _compiled = _compiled, None
    finally:
        _compiled = None
    outcomes = decode(list(nr.inventory.hosts), results)
    assert {o.status for o in outcomes.values()} == {Status.OK}
    assert seen == []


def test_outcomes_cover_every_selected_host() -> None:
    compiled = compile_text(steps(f"  - {{task: '{T}:echo'}}"))
    nr = make_nornir(("ran", "marked", "crashed"))
    results = nr.filter(name="ran").run(task=compiled.host_task)
    marked_host = nr.inventory.hosts["marked"]
    results["marked"] = MultiResult("x")
    halted = NotRun(NotRunKind.HALTED_GROUP, host="ran", group="g")
    results["marked"].append(not_run(marked_host, halted))
    results["crashed"] = MultiResult("x")
    boom = RuntimeError("bug in a runner")
    results["crashed"].append(Result(nr.inventory.hosts["crashed"], exception=boom, failed=True))
    found = decode(["ran", "marked", "crashed", "missing"], results)
    assert list(found) == ["ran", "marked", "crashed", "missing"]
    assert found["ran"].status is Status.OK
    assert (found["marked"].status, found["marked"].error) == (
        Status.SKIPPED,
        "not started: ran in redundancy group g failed",
    )
    assert (found["crashed"].status, found["crashed"].error) == (Status.FAILED, "bug in a runner")
    assert found["missing"].status is Status.INTERRUPTED
    assert found["missing"].error == "interrupted before this host finished"


def test_interrupt_stops_starting_steps() -> None:
    compiled = compile_text(steps(f"  - {{task: '{T}:echo'}}", f"  - {{task: '{T}:echo'}}"))
    compiled.stop.interrupt()
    results = make_nornir().run(task=compiled.host_task)
    host = decode(["h1"], results)["h1"]
    assert host.status is Status.INTERRUPTED
    assert [s.status for s in host.steps] == [Status.INTERRUPTED, Status.INTERRUPTED]
    assert t.CALLS == {}


def test_inventory_filter_and_or_not() -> None:
    text = (
        "name: f\ninventory:\n  filter:\n    site: earth\n"
        "    or: [{dev_type: edge}, {rack__ge: 3}]\n    not: {name__contains: '4'}\n"
        f"steps: [{{task: '{T}:echo'}}]\n"
    )
    compiled = compile_text(text)
    nr = make_nornir(tuple(f"leaf{i}" for i in range(6)))
    nr.inventory.hosts["leaf0"].data["dev_type"] = "edge"
    nr.inventory.hosts["leaf5"].data["site"] = "mars"
    selected = nr.filter(compiled.inventory_filter())
    assert sorted(selected.inventory.hosts) == ["leaf0", "leaf3"]
    no_filter = compile_text(f"name: f\nsteps: [{{task: '{T}:echo'}}]\n")
    assert no_filter.inventory_filter() is None


def test_group_of_renders_the_rolling_template_per_host() -> None:
    text = (
        "name: r\nvars: {prefix: g}\n"
        "strategy: {rolling: {group_by: '{{ prefix }}-{{ site }}-{{ dev_type }}-{{ rack }}'}}\n"
        f"steps: [{{task: '{T}:echo'}}]\n"
    )
    nr = make_nornir(("a", "b"))
    compiled = compile_text(text)
    assert [compiled.group_of(h) for h in nr.inventory.hosts.values()] == [
        "g-earth-leaf-0",
        "g-earth-leaf-1",
    ]
    plain = compile_text(f"name: f\nsteps: [{{task: '{T}:echo'}}]\n")
    assert plain.group_of(nr.inventory.hosts["a"]) == ""


def test_sandbox_refuses_internals_at_runtime(run: Run) -> None:
    text = (
        "name: s\nvars: {field: __class__}\nsteps:\n"
        f"  - {{task: '{T}:echo', args: {{value: '{{{{ inventory_hostname | attr(field) }}}}'}}}}\n"
    )
    outcomes, _ = run(text)
    (step,) = outcomes["h1"].steps
    assert step.status is Status.FAILED
    assert step.error == (
        "args: SecurityError: access to attribute '__class__' of 'str' object is unsafe."
    )


def test_attr_filter_with_an_internal_name_is_refused_when_loading() -> None:
    with pytest.raises(RunbookInvalid) as raised:
        compile_text(
            steps(f"  - {{task: '{T}:echo', args: {{value: \"{{{{ n | attr('__x') }}}}\"}}}}")
        )
    assert raised.value.errors == [
        "rb.yml:4:69: steps[0].args.value: '__x' starts with '_':"
        " templates may not reach for internal names or attributes"
    ]


def test_an_interrupt_during_a_retry_delay_stops_retrying() -> None:
    compiled = compile_text(
        steps(f"  - {{task: '{T}:flaky', args: {{failures: 5}}, retries: 3, delay: 10}}")
    )
    nr = make_nornir()
    timer = threading.Timer(0.2, compiled.stop.interrupt)
    timer.start()
    started = time.monotonic()
    results = nr.run(task=compiled.host_task)
    (step,) = decode(["h1"], results)["h1"].steps
    assert time.monotonic() - started < 5
    assert (step.status, step.attempts, step.error) == (
        Status.FAILED,
        1,
        "RuntimeError: attempt 1 failed",
    )


def test_a_change_made_by_a_failed_attempt_is_still_reported_after_the_retry(run: Run) -> None:
    outcomes, _ = run(
        steps(f"  - {{task: '{T}:change_once', register: r, assert: r.ok, retries: 1}}")
    )
    step = outcomes["h1"].steps[0]
    assert (step.status, step.changed, step.attempts) == (Status.CHANGED, True, 2)
    assert outcomes["h1"].status is Status.CHANGED


def test_check_mode_does_not_fail_a_step_on_its_own_would_be_change(run: Run) -> None:
    outcomes, _ = run(
        steps(f"  - {{task: '{T}:change', args: {{what: os}}, register: r, assert: r == 'x'}}"),
        dry_run=True,
    )
    step = outcomes["h1"].steps[0]
    assert step.status is Status.SKIPPED
    assert step.error == "check mode: not asserted after a change that was not made: r == 'x'"


def test_group_by_in_a_runbook_sees_the_host_name_as_the_runner_documents() -> None:
    compiled = compile_text(
        "name: t\nstrategy: {rolling: {group_by: '{{ name }}-{{ site }}'}}\n"
        f"steps:\n  - task: '{T}:echo'\n"
    )
    host = make_nornir(("leaf00.earth",)).inventory.hosts["leaf00.earth"]
    assert compiled.group_of(host) == "leaf00.earth-earth"


def test_a_group_by_that_cannot_name_a_host_is_an_invalid_runbook_not_a_bad_option() -> None:
    from acmerun.plugins.runners.rolling import RollingRunner

    # an inventory plugin that declares no host-data keys: any name may be host data
    compiled = compile_text(
        "name: t\ninventory: {plugin: SimpleInventory}\n"
        "strategy: {rolling: {group_by: '{{ nosuch }}'}}\n"
        f"steps:\n  - task: '{T}:echo'\n"
    )
    nr = make_nornir(("h1",)).with_runner(RollingRunner(group_by=compiled.group_of))
    with pytest.raises(RunbookInvalid) as raised:
        nr.run(task=compiled.host_task)
    assert raised.value.errors == [
        "rb.yml: strategy.rolling.group_by: host 'h1': 'nosuch' is undefined"
    ]
