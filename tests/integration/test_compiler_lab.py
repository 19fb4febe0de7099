"""Compiled runbooks with the real acmeos tasks, against a lab on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir

from acmerun.outcome import HostOutcome, Status
from acmerun.results import decode
from acmerun.runbook import load_runbook, load_runbook_text
from acmerun.runbook.compiler import CompiledRunbook, compile_runbook
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME

RUNBOOKS = Path(__file__).parents[2] / "runbooks"


@pytest.fixture
def small_lab(make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """earth with 2 edge, 4 spine and 4 leaf devices; edge00 is dead."""
    lab = make_lab(sites=["earth"], leaves=4, dead=["edge00.*"])
    monkeypatch.setenv("ACME_INVENTORY_URL", lab.url)
    monkeypatch.setenv("ACMEOS_USERNAME", LAB_USERNAME)
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    return lab


def run(compiled: CompiledRunbook, check: bool = False) -> dict[str, HostOutcome]:
    spec = compiled.runbook.inventory
    nr = InitNornir(
        inventory={"plugin": spec.plugin, "options": dict(spec.options)},
        runner={"plugin": "threaded", "options": {"num_workers": 20}},
        logging={"enabled": False},
        dry_run=check,
    )
    host_filter = compiled.inventory_filter()
    if host_filter is not None:
        nr = nr.filter(host_filter)
    selected = sorted(nr.inventory.hosts)
    results = nr.run(task=compiled.host_task, name=compiled.runbook.name)
    nr.close_connections()
    return decode(selected, results)


def versions(lab: Any) -> dict[str, str]:
    return {name: info.version for name, info in lab.devices().items()}


def test_upgrade_earth_changes_then_finds_nothing_to_do(small_lab: Any) -> None:
    runbook = load_runbook(RUNBOOKS / "upgrade-earth.yml")
    first = run(compile_runbook(runbook))
    assert len(first) == 10
    dead = first.pop("edge00.earth")
    assert dead.status is Status.UNREACHABLE
    assert dead.error == "pre-check resources: problem communicating with device"
    assert [s.status for s in dead.steps] == [Status.UNREACHABLE, Status.SKIPPED, Status.SKIPPED]
    assert {h.status for h in first.values()} <= {Status.CHANGED, Status.OK}
    assert any(h.status is Status.CHANGED for h in first.values())
    for host in first.values():
        pre, _, post = host.steps
        assert set(pre.result) >= {"cpu", "ram_total", "ram_used"}
        assert post.steps[0].result["full_version"] == "5.4.1"
    running = versions(small_lab)
    assert all(v == "5.4.1" for n, v in running.items() if n != "edge00.earth")

    second = run(compile_runbook(runbook))
    del second["edge00.earth"]
    assert {h.status for h in second.values()} == {Status.OK}


def test_check_mode_reports_would_be_changes_and_changes_nothing(small_lab: Any) -> None:
    before = versions(small_lab)
    runbook = load_runbook(RUNBOOKS / "upgrade-earth.yml")
    outcomes = run(compile_runbook(runbook, extra_vars={"target_version": "9.9.9"}), check=True)
    del outcomes["edge00.earth"]
    upgrade_steps = [h.steps[1] for h in outcomes.values()]
    assert all(s.status is Status.CHANGED for s in upgrade_steps)
    assert versions(small_lab) == before
    # the post-check cannot hold on a device that was not upgraded: skipped, not failed
    assert {h.status for h in outcomes.values()} == {Status.CHANGED}
    post = outcomes["spine00.earth"].steps[2].steps[0]
    assert post.status is Status.SKIPPED
    assert post.error == (
        "check mode: not asserted after a change that was not made: "
        "ver.full_version == target_version"
    )


def test_check_mode_still_fails_asserts_that_precede_any_change(small_lab: Any) -> None:
    text = (
        "name: cpu\ninventory: {filter: {name: spine00.earth}}\nsteps:\n"
        "  - task: acmeos.get_cpu_ram\n    register: res\n    assert: res.cpu < 0\n"
    )
    outcomes = run(compile_runbook(load_runbook_text(text, "cpu.yml")), check=True)
    assert outcomes["spine00.earth"].status is Status.FAILED


def test_assert_on_real_device_data_shows_the_values(small_lab: Any) -> None:
    text = (
        "name: cpu\ninventory: {filter: {name: spine00.earth}}\nsteps:\n"
        "  - task: acmeos.get_cpu_ram\n    register: res\n    assert: res.cpu < 0\n"
    )
    outcomes = run(compile_runbook(load_runbook_text(text, "cpu.yml")))
    step = outcomes["spine00.earth"].steps[0]
    assert step.status is Status.FAILED
    assert step.error == f"assertion failed: res.cpu < 0 (res.cpu = {step.result['cpu']!r})"


def test_an_invalid_version_fails_once_without_retries(small_lab: Any) -> None:
    text = (
        "name: bad version\ninventory: {filter: {name: leaf00.earth}}\nsteps:\n"
        "  - task: acmeos.install_os_version\n    args: {version: '5.x'}\n    retries: 3\n"
    )
    outcomes = run(compile_runbook(load_runbook_text(text, "v.yml")))
    step = outcomes["leaf00.earth"].steps[0]
    assert (step.status, step.attempts) == (Status.FAILED, 1)
    assert step.error == "invalid AcmeOS version '5.x': expected X.Y.Z, e.g. '5.4.1'"


def test_the_schema_describes_the_real_built_in_task_arguments() -> None:
    import inspect

    from acmerun.plugins.tasks import acmeos
    from acmerun.runbook import builtins, schema
    from acmerun.runbook.tasks import BUILTIN_TASKS, ENGINE_TASKS

    rules = {
        r["if"]["properties"]["task"]["const"]: r["then"]["properties"]["args"]
        for r in schema()["$defs"]["step"]["allOf"]
    }
    tasks = {f"acmeos.{n}": getattr(acmeos, n) for n in BUILTIN_TASKS}
    tasks.update((n, getattr(builtins, n)) for n in ENGINE_TASKS)
    assert sorted(rules) == sorted(tasks)
    for name, fn in tasks.items():
        # the stop token and no_log are the engine's to pass, never runbook arguments
        engine = ("stop", "no_log")
        params = [p for p in list(inspect.signature(fn).parameters.values())[1:]]
        params = [p for p in params if p.name not in engine]
        args = rules[name]
        assert sorted(args["properties"]) == sorted(p.name for p in params)
        assert sorted(args.get("required", [])) == sorted(
            p.name for p in params if p.default is inspect.Parameter.empty
        )


def test_a_slow_device_fails_the_step_at_its_timeout(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], leaves=1, slow=["leaf00.*"])
    monkeypatch.setenv("ACME_INVENTORY_URL", lab.url)
    monkeypatch.setenv("ACMEOS_USERNAME", LAB_USERNAME)
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    text = (
        "name: slow\ninventory: {filter: {name: leaf00.earth}}\nsteps:\n"
        "  - {task: acmeos.get_version, timeout: 0.5, retries: 1}\n"
    )
    started = time.monotonic()
    outcomes = run(compile_runbook(load_runbook_text(text, "slow.yml")))
    step = outcomes["leaf00.earth"].steps[0]
    assert (step.status, step.attempts) == (Status.FAILED, 2)
    assert step.error == "step timed out after 0.5s (its timeout)"
    assert time.monotonic() - started < 5


def test_each_host_ends_its_device_session_when_its_steps_are_done(small_lab: Any) -> None:
    runbook = load_runbook(RUNBOOKS / "upgrade-earth.yml")
    nr = InitNornir(
        inventory={"plugin": "ACMEInventory", "options": {"filter_sites": ["earth"]}},
        runner={"plugin": "threaded", "options": {"num_workers": 5}},
        logging={"enabled": False},
    )
    results = nr.run(task=compile_runbook(runbook).host_task)
    assert not results["spine00.earth"].failed
    # no socket left open per host: a fleet of thousands stays under the open-files limit
    assert {name: dict(h.connections) for name, h in nr.inventory.hosts.items()} == {
        name: {} for name in nr.inventory.hosts
    }
