"""The acmeos tasks, through plain nornir, against a lab on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.task import AggregatedResult, Result, Task

from acmerun.acmeos import deadline
from acmerun.acmeos.errors import (
    AuthenticationError,
    ConnectionFailure,
    InstallFailed,
    InvalidVersion,
    ReadTimeout,
    RebootTimeout,
)
from acmerun.plugins.tasks import acmeos
from tests.support.credentials import LAB_PASSWORD

TARGET = "5.4.1"


def nornir_for(lab: Any, *, dry_run: bool = False, **inventory: Any) -> Nornir:
    nr = InitNornir(
        inventory={"plugin": "ACMEInventory", "options": {"url": lab.url, **inventory}},
        runner={"plugin": "threaded", "options": {"num_workers": 20}},
        logging={"enabled": False},
        dry_run=dry_run,
    )
    return nr


@pytest.fixture
def nornir(lab_env: Any) -> Callable[..., Nornir]:
    """InitNornir against the ``lab`` fixture, credentials from the environment."""

    def make(**kwargs: Any) -> Nornir:
        return nornir_for(lab_env, **kwargs)

    return make


def innermost(result: Result) -> BaseException | None:
    exc = result.exception
    while exc is not None and getattr(exc, "result", None) is not None:
        failed = [r for r in exc.result if r.exception is not None]  # type: ignore[attr-defined]
        if not failed:
            break
        exc = failed[-1].exception
    return exc


def no_password_in(results: AggregatedResult) -> None:
    for multi in results.values():
        for r in multi:
            assert LAB_PASSWORD not in f"{r.result} {r.exception!r} {r.exception}"


def one(nr: Nornir, name: str) -> Nornir:
    return nr.filter(filter_func=lambda h: h.name == name)


def a_version_other_than(current: str) -> str:
    return "5.4.1" if current != "5.4.1" else "5.3.9"


def test_get_version_reads_every_device(nornir: Callable[..., Nornir], lab_env: Any) -> None:
    nr = nornir()
    results = nr.run(task=acmeos.get_version)
    devices = lab_env.devices()
    assert len(results) == 106 and not results.failed
    for name, multi in results.items():
        version = devices[name].version
        os_version, revision = version.rsplit(".", 1)
        assert multi[0].result == {
            "os_version": os_version,
            "revision": revision,
            "full_version": version,
            "previous_version": None,
        }
        assert multi[0].changed is False
    nr.close_connections()


def test_get_cpu_ram_reads_resources(nornir: Callable[..., Nornir]) -> None:
    results = nornir(filter_dev_types=["spine"]).run(task=acmeos.get_cpu_ram)
    assert len(results) == 4 and not results.failed
    for multi in results.values():
        data = multi[0].result
        assert set(data) == {"cpu", "ram_total", "ram_used"}
        assert 0 <= data["cpu"] <= 100
        assert 0 < data["ram_used"] <= data["ram_total"]


def test_install_os_version_installs_and_the_device_reboots(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], reboot_seconds=0.3)
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    before = lab.devices()["leaf03.earth"].version
    target = a_version_other_than(before)
    result = one(nornir_for(lab), "leaf03.earth").run(
        task=acmeos.install_os_version, version=target
    )["leaf03.earth"][0]
    assert not result.failed and result.changed
    assert result.result["previous_version"] == before
    assert result.result["version"] == target
    assert result.result["status"] == "rebooting"
    assert lab.devices()["leaf03.earth"].version == target
    assert len(lab.downtime()["leaf03.earth"]) == 1


def test_install_os_version_in_dry_run_changes_nothing(
    nornir: Callable[..., Nornir], lab_env: Any
) -> None:
    before = lab_env.devices()["leaf04.earth"].version
    target = a_version_other_than(before)
    nr = one(nornir(dry_run=True), "leaf04.earth")
    result = nr.run(task=acmeos.install_os_version, version=target)["leaf04.earth"][0]
    assert not result.failed and result.changed
    assert result.result == f"would install {target} over {before}"
    assert lab_env.devices()["leaf04.earth"].version == before
    assert lab_env.downtime().get("leaf04.earth", []) == []


def test_install_of_an_invalid_version_fails_before_reaching_the_device(
    nornir: Callable[..., Nornir], lab_env: Any
) -> None:
    result = one(nornir(), "leaf05.earth").run(task=acmeos.install_os_version, version="5.4")
    assert isinstance(result["leaf05.earth"][0].exception, InvalidVersion)
    assert lab_env.downtime().get("leaf05.earth", []) == []


@pytest.mark.slow
def test_upgrade_os_end_to_end_then_nothing_to_do(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], install_seconds=0.2, reboot_seconds=1.0)
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    nr = nornir_for(lab, filter_dev_types=["edge", "spine"])
    before = {n: d.version for n, d in lab.devices().items() if n in nr.inventory.hosts}
    assert any(v != TARGET for v in before.values())

    started = time.monotonic()
    results = nr.run(task=acmeos.upgrade_os, version=TARGET)
    elapsed = time.monotonic() - started
    assert not results.failed
    for name, multi in results.items():
        top = multi[0]
        if before[name] == TARGET:
            assert (top.result, top.changed) == ("nothing to do", False)
            continue
        assert top.changed
        assert top.result == f"upgraded {before[name]} -> {TARGET}"
        assert [r.name for r in multi] == [
            "upgrade_os",
            "get_version",
            "install_os_version",
            "get_version",
        ]
        assert multi[-1].result["full_version"] == TARGET
        (start, end), *_ = lab.downtime()[name]
        assert end is not None and end - start >= 0.9
    assert elapsed < 30  # back after the 1 s reboots, not at the 600 s reboot timeout
    assert all(d.version == TARGET for n, d in lab.devices().items() if n in before)
    no_password_in(results)

    again = nornir_for(lab, filter_dev_types=["edge", "spine"]).run(
        task=acmeos.upgrade_os, version=TARGET
    )
    assert not again.failed
    assert {(m[0].result, m[0].changed) for m in again.values()} == {("nothing to do", False)}


def test_upgrade_os_in_dry_run_changes_nothing(nornir: Callable[..., Nornir], lab_env: Any) -> None:
    before = {n: d.version for n, d in lab_env.devices().items()}
    results = nornir(dry_run=True, filter_dev_types=["spine"]).run(
        task=acmeos.upgrade_os, version=TARGET
    )
    assert not results.failed
    for name, multi in results.items():
        if before[name] == TARGET:
            assert (multi[0].result, multi[0].changed) == ("nothing to do", False)
        else:
            assert multi[0].changed
            assert multi[0].result == f"would upgrade {before[name]} -> {TARGET}"
            assert multi[2].result == f"would install {TARGET} over {before[name]}"
    assert {n: d.version for n, d in lab_env.devices().items()} == before
    assert not any(lab_env.downtime().values())


def test_upgrade_os_refuses_an_invalid_version_without_touching_the_device(
    nornir: Callable[..., Nornir], lab_env: Any
) -> None:
    result = one(nornir(), "leaf06.earth").run(task=acmeos.upgrade_os, version="latest")
    multi = result["leaf06.earth"]
    assert isinstance(multi[0].exception, InvalidVersion)
    assert len(multi) == 1


def test_upgrade_os_fails_when_the_device_does_not_come_back(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], stuck=["leaf07.*"])
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    target = a_version_other_than(lab.devices()["leaf07.earth"].version)
    started = time.monotonic()
    result = one(nornir_for(lab), "leaf07.earth").run(
        task=acmeos.upgrade_os, version=target, reboot_timeout=1.0
    )["leaf07.earth"][0]
    assert 1.0 <= time.monotonic() - started < 10  # its reboot_timeout, not forever
    assert isinstance(result.exception, RebootTimeout)
    assert str(result.exception) == "device did not come back within 1s after its reboot"


def test_upgrade_os_stops_waiting_at_the_step_deadline(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], stuck=["leaf08.*"])
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    target = a_version_other_than(lab.devices()["leaf08.earth"].version)

    def step(task: Task) -> Result:
        with deadline.step_deadline(1.0):
            task.run(task=acmeos.upgrade_os, version=target)
        return Result(host=task.host)

    started = time.monotonic()
    result = one(nornir_for(lab), "leaf08.earth").run(task=step)["leaf08.earth"]
    assert time.monotonic() - started < 10  # the step's deadline, not the reboot_timeout
    assert isinstance(innermost(result[0]), deadline.DeadlineExceeded)


def test_upgrade_os_reports_a_failed_install(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], install_failure_rate=1.0)
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    before = lab.devices()["leaf09.earth"].version
    target = a_version_other_than(before)
    multi = one(nornir_for(lab), "leaf09.earth").run(task=acmeos.upgrade_os, version=target)[
        "leaf09.earth"
    ]
    assert multi.failed
    assert isinstance(innermost(multi[0]), InstallFailed)
    assert lab.devices()["leaf09.earth"].version == before


def test_a_dead_device_is_unreachable_with_the_seed_message(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], dead=["edge00.*"])
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    results = nornir_for(lab, filter_dev_types=["edge"]).run(task=acmeos.get_version)
    assert list(results.failed_hosts) == ["edge00.earth"]
    exc = results["edge00.earth"][0].exception
    assert type(exc) is ConnectionFailure
    assert str(exc) == "problem communicating with device"


def test_a_slow_device_times_out_with_the_read_timeout_from_the_inventory(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], slow=["leaf10.*"])
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    nr = one(nornir_for(lab), "leaf10.earth")
    nr.inventory.defaults.connection_options["acmeos"] = _options(read_timeout=0.3)
    started = time.monotonic()
    result = nr.run(task=acmeos.get_version)["leaf10.earth"][0]
    assert time.monotonic() - started < 10  # the read timeout, not the device's hour
    assert isinstance(result.exception, ReadTimeout)
    assert str(result.exception) == "device did not answer within the read timeout of 0.3s"


def test_transient_errors_are_connection_failures(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], error_rate=1.0)
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    results = nornir_for(lab, filter_dev_types=["edge"]).run(task=acmeos.get_version)
    assert sorted(results.failed_hosts) == ["edge00.earth", "edge01.earth"]
    assert all(type(m[0].exception) is ConnectionFailure for m in results.values())


def test_latency_is_paid_per_call(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], latency_ms=(100.0, 100.0))
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    nr = one(nornir_for(lab), "leaf11.earth")
    started = time.monotonic()
    result = nr.run(task=acmeos.get_version)  # log in, then read
    assert not result.failed
    assert time.monotonic() - started >= 0.2


def test_wrong_credentials_fail_with_an_authentication_error(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACMEOS_USERNAME", "netops")
    monkeypatch.setenv("ACMEOS_PASSWORD", "not-" + LAB_PASSWORD)
    results = nornir_for(lab, filter_dev_types=["edge"]).run(task=acmeos.get_version)
    for multi in results.values():
        exc = multi[0].exception
        assert isinstance(exc, AuthenticationError)
        assert not isinstance(exc, ConnectionFailure)
        assert str(exc) == "authentication failed (user 'netops'): wrong username or password"
    no_password_in(results)


def _options(**extras: Any) -> Any:
    from nornir.core.inventory import ConnectionOptions

    return ConnectionOptions(extras=extras)
