"""Every documented exit code, from a real ``python -m acmerun`` process against a real lab."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from acmerun.lock import RunbookLock, lock_path
from tests.support import processes
from tests.support.gate import Gate
from tests.support.junit import assert_valid_junit

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
EARTH_HOSTS = 106


def environment(lab: Any | None, **extra: str) -> dict[str, str]:
    return processes.environment(None if lab is None else lab.url, **extra)


def acmerun(
    *args: str, lab: Any | None, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return processes.run_acmerun(*args, env=environment(lab), cwd=cwd, timeout=timeout)


def read_report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_0_every_host_ok(lab: Any, tmp_path: Path) -> None:
    run = acmerun(str(DATA / "audit.yml"), "--report", "r.json", lab=lab, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == f"target: inventory {lab.url}"
    report = read_report(tmp_path / "r.json")
    assert report["totals"]["ok"] == EARTH_HOSTS
    assert report["exit_code"] == 0


def test_2_a_host_failed_and_its_group_is_halted(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(sites=["earth"], install_failure_rate=1.0)
    run = acmerun(str(DATA / "upgrade.yml"), "--report", "r.json", lab=lab, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    report = read_report(tmp_path / "r.json")
    assert len(report["hosts"]) == EARTH_HOSTS
    assert report["totals"]["failed"] >= 1
    assert "FAILURES" in run.stdout


def test_3_unreachable_host(make_lab: Callable[..., Any], tmp_path: Path) -> None:
    lab = make_lab(sites=["earth"], dead=["edge00.*"])
    run = acmerun(str(DATA / "audit.yml"), "--report", "r.json", lab=lab, cwd=tmp_path)
    assert run.returncode == 3, run.stderr
    hosts = read_report(tmp_path / "r.json")["hosts"]
    assert len(hosts) == EARTH_HOSTS
    assert hosts["edge00.earth"]["status"] == "unreachable"
    assert {h["status"] for name, h in hosts.items() if name != "edge00.earth"} == {"ok"}


def test_4_invalid_runbook_every_error_located(tmp_path: Path) -> None:
    run = acmerun(str(DATA / "invalid.yml"), lab=None, cwd=tmp_path)
    assert run.returncode == 4
    assert run.stdout == ""
    errors = run.stderr.splitlines()
    assert any(":5:" in line and "steps[0].args.version" in line for line in errors), errors
    assert any(":8:" in line and "whn" in line for line in errors), errors
    assert errors[-1].startswith("acmerun: error: runbook invalid")
    assert "Traceback" not in run.stderr


def test_4_validate_a_folder(tmp_path: Path) -> None:
    run = acmerun("validate", str(DATA / "invalid.yml"), lab=None, cwd=tmp_path)
    assert run.returncode == 4
    assert "whn" in run.stdout
    run = acmerun(
        "validate", str(DATA / "audit.yml"), str(DATA / "upgrade.yml"), lab=None, cwd=tmp_path
    )
    assert (run.returncode, run.stdout) == (0, "2 runbooks valid\n")


def test_5_bad_options_and_unreachable_inventory(tmp_path: Path) -> None:
    run = acmerun(str(DATA / "audit.yml"), "--workers", "-3", lab=None, cwd=tmp_path)
    assert run.returncode == 5
    assert run.stderr.startswith("acmerun: error: Invalid value for '-w' / '--workers'")
    run = processes.run_acmerun(
        str(DATA / "audit.yml"),
        env=environment(None, ACME_INVENTORY_URL="http://127.0.0.1:9"),
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 5, run.stderr
    assert run.stderr.startswith("acmerun: error: ")
    assert "127.0.0.1:9" in run.stderr
    assert "Traceback" not in run.stderr


def test_5_limit_matching_nothing(lab: Any, tmp_path: Path) -> None:
    run = acmerun(str(DATA / "audit.yml"), "--limit", "edge*,spnie*", lab=lab, cwd=tmp_path)
    assert run.returncode == 5
    assert "--limit pattern 'spnie*' matches no host or group" in run.stderr


def test_6_check_with_detailed_exitcode_finds_drift_and_changes_nothing(
    lab: Any, tmp_path: Path
) -> None:
    before = {name: d.version for name, d in lab.devices().items()}
    run = acmerun(
        str(DATA / "upgrade.yml"),
        "--check",
        "--detailed-exitcode",
        "--report",
        "r.json",
        lab=lab,
        cwd=tmp_path,
    )
    assert run.returncode == 6, run.stdout + run.stderr
    assert {name: d.version for name, d in lab.devices().items()} == before
    report = read_report(tmp_path / "r.json")
    assert report["check"] is True
    drifted = sum(1 for v in before.values() if v != "5.4.1")
    assert report["totals"]["changed"] == drifted
    run = acmerun(str(DATA / "upgrade.yml"), "--check", lab=lab, cwd=tmp_path)
    assert run.returncode == 0


def gated(runbook: Path, folder: Path, gate: Gate) -> Path:
    """A copy of ``runbook`` in ``folder`` whose hosts wait at ``gate`` after their steps."""
    copy = folder / runbook.name
    copy.write_text(runbook.read_text() + gate.step())
    return copy


def test_7_second_run_of_a_runbook_is_locked_out(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(sites=["earth"])
    with Gate() as gate:
        upgrade = gated(DATA / "upgrade.yml", tmp_path, gate)
        first = processes.start_acmerun(str(upgrade), env=environment(lab), cwd=tmp_path)
        waited: processes.Process | None = None
        try:
            gate.wait_for(1)  # a host of the first run is in flight: it holds the lock
            second = acmerun(str(upgrade), lab=lab, cwd=tmp_path)
            assert second.returncode == 7
            assert second.stderr == (
                f"acmerun: error: {upgrade} is locked by another acmerun run "
                f"(pid {first.pid}); use --wait-lock SECONDS to wait for it\n"
            )
            other = acmerun(str(DATA / "audit.yml"), lab=make_lab(sites=["earth"]), cwd=tmp_path)
            assert other.returncode == 0, other.stderr
            waited = processes.start_acmerun(
                str(upgrade), "--wait-lock", "120", env=environment(lab), cwd=tmp_path
            )
            processes.wait_until_open(waited, lock_path(upgrade))  # it waits for the lock
            gate.open()
            assert first.wait(timeout=120) == 0
            assert waited.wait(timeout=120) == 0
        finally:
            first.kill()
            if waited is not None:
                waited.kill()


def test_99_sigint_mid_run_stops_and_reports_every_host(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(sites=["earth"], install_seconds=0.5, reboot_seconds=1.0)
    run = processes.start_acmerun(
        str(DATA / "upgrade.yml"),
        "--report",
        "r.json",
        "--junit",
        "r.xml",
        env=environment(lab),
        cwd=tmp_path,
    )
    run.readline()
    processes.wait_until(lambda: any(lab.downtime().values()), "a device reboots")
    started = time.monotonic()
    run.send_signal(signal.SIGINT)
    _out, err = run.communicate(timeout=60)
    assert run.returncode == 99, err
    assert time.monotonic() - started < 20
    assert "stopping: no new host starts" in err
    assert "Traceback" not in err
    report = read_report(tmp_path / "r.json")
    assert report["interrupted"] is True
    assert len(report["hosts"]) == EARTH_HOSTS
    assert report["totals"]["interrupted"] > 0
    assert report["totals"]["changed"] + report["totals"]["ok"] > 0
    junit = assert_valid_junit(tmp_path / "r.xml")
    # what did not finish is an error for CI, not a skip of a successful run
    assert int(junit.get("errors", "0")) >= report["totals"]["interrupted"] > 0
    for intervals in _down_by_group(lab).values():
        intervals.sort()
        for (_, end), (start, _) in itertools.pairwise(intervals):
            assert end is not None and end <= start


def test_99_a_second_signal_stops_waiting_for_hosts_in_flight(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(sites=["earth"])
    with Gate() as gate:  # never opened: the hosts in flight would wait for it for minutes
        runbook = gated(DATA / "upgrade.yml", tmp_path, gate)
        run = processes.start_acmerun(
            str(runbook), "--report", "r.json", env=environment(lab), cwd=tmp_path
        )
        try:
            gate.wait_for(1)  # hosts are in flight
            run.send_signal(signal.SIGTERM)
            run.wait_for_line("stopping: no new host starts", stream="stderr")
            started = time.monotonic()
            run.send_signal(signal.SIGTERM)
            _, err = run.communicate(timeout=60)
        finally:
            run.kill()
    assert run.returncode == 99, err
    assert time.monotonic() - started < 20
    assert "not waiting for hosts in flight" in err
    report = read_report(tmp_path / "r.json")
    assert len(report["hosts"]) == EARTH_HOSTS
    assert report["totals"]["interrupted"] == EARTH_HOSTS - report["totals"]["ok"]


def test_99_sigterm_while_waiting_for_the_lock(lab: Any, tmp_path: Path) -> None:
    with RunbookLock(DATA / "audit.yml"):
        run = processes.start_acmerun(
            str(DATA / "audit.yml"), "--wait-lock", "60", env=environment(lab), cwd=tmp_path
        )
        processes.wait_until_caught(run, signal.SIGTERM)
        processes.wait_until_open(run, lock_path(DATA / "audit.yml"))  # it waits for the lock
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=30)
    assert run.returncode == 99
    assert (out, err.strip()) == ("", "acmerun: error: interrupted")


def _down_by_group(lab: Any) -> dict[str, list[tuple[float, float | None]]]:
    groups: dict[str, list[tuple[float, float | None]]] = {}
    devices = lab.devices()
    for name, intervals in lab.downtime().items():
        d = devices[name]
        key = f"{d.site}-{d.dev_type}-{d.rack}"
        groups.setdefault(key, []).extend((s, e) for s, e in intervals)
    return groups


@pytest.fixture(autouse=True)
def _no_nornir_log(tmp_path: Path) -> Any:
    yield
    assert not (tmp_path / "nornir.log").exists()


def test_5_a_site_name_typo_selects_no_host_and_says_so(lab: Any, tmp_path: Path) -> None:
    runbook = tmp_path / "typo.yml"
    runbook.write_text(
        "name: typo\ninventory:\n  options: {filter_sites: [eart]}\n"
        "steps:\n  - task: acmeos.get_version\n"
    )
    run = acmerun(str(runbook), "--report", "r.json", lab=lab, cwd=tmp_path)
    assert run.returncode == 5
    assert run.stderr.splitlines()[-1] == (
        "acmerun: error: no host selected by the inventory (ACMEInventory: "
        "filter_sites=['eart']): check the names (site, device type, host)"
    )
    assert not (tmp_path / "r.json").exists()
