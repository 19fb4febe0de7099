"""The fault matrix: ``python -m acmerun`` against a lab process injecting one fault per test.

Each row asserts the status of every host in the JSON report, the exit code, and
that the run ended within a bound computed from the runbook's own timeouts (plus
the start-up of a Python process on a loaded machine). The secret scan
(``SCANNED_FOLDERS`` in ``tests/conftest.py``) checks everything each run wrote.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.credentials import LAB_PASSWORD, WRONG_PASSWORD
from tests.support.gate import Gate

RUNBOOKS = Path(__file__).parent / "runbooks"
#: earth with 4 leaves: 2 edge, 4 spine, 4 leaf devices
HOSTS = 10
#: a Python process start, inventory read and report write on a loaded 2-core machine
OVERHEAD = 12.0


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Callable[..., processes.LabProcess]]:
    """Start lab processes with fault options; all of them end with the test."""
    started: list[processes.LabProcess] = []

    def start(*options: str, leaves: int = 4) -> processes.LabProcess:
        lab = processes.start_lab(*options, cwd=tmp_path, leaves=leaves)
        started.append(lab)
        return lab

    yield start
    processes.stop(started)


def run(
    runbook: str, lab_url: str, tmp_path: Path, password: str = LAB_PASSWORD, *options: str
) -> tuple[int, dict[str, Any], float, str]:
    """Run a runbook of ``runbooks/``: (exit code, JSON report, seconds, stdout)."""
    env = processes.environment(lab_url, password=password)
    started = time.monotonic()
    done = processes.run_acmerun(
        str(RUNBOOKS / runbook),
        "--report",
        "report.json",
        "--junit",
        "report.xml",
        "--log-file",
        "run.log",
        *options,
        env=env,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert sum(report["totals"].values()) == len(report["hosts"])
    assert report["exit_code"] == done.returncode
    return done.returncode, report, elapsed, done.stdout


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {name: host["status"] for name, host in report["hosts"].items()}


def attempts(report: dict[str, Any]) -> list[int]:
    """The attempts of every step that ran, on every host."""
    return [s["attempts"] for h in report["hosts"].values() for s in h["steps"] if s["attempts"]]


def test_transient_errors_are_retried_and_every_host_ends_ok(lab: Any, tmp_path: Path) -> None:
    fleet = lab("--error-rate", "0.05", "--seed", "7", leaves=30)
    code, report, elapsed, _ = run("transient.yml", fleet.url, tmp_path)
    assert code == 0
    assert set(statuses(report).values()) == {"ok"}
    assert len(report["hosts"]) == 36
    survived = sum(n - 1 for n in attempts(report))
    assert survived >= 1, "5% of resets over ~150 calls: some step must have been retried"
    # 36 hosts / 10 workers, 3 steps each; every retry costs at most a step timeout (2 s)
    assert elapsed < OVERHEAD + math.ceil(36 / 10) * 3 * 0.5 + survived * 2


def test_dead_devices_are_unreachable_after_their_retries(lab: Any, tmp_path: Path) -> None:
    fleet = lab("--dead", "edge00.*")
    code, report, elapsed, stdout = run("dead.yml", fleet.url, tmp_path)
    assert code == 3
    assert statuses(report) == {
        name: "unreachable" if name == "edge00.earth" else "ok" for name in report["hosts"]
    }
    assert len(report["hosts"]) == HOSTS
    version, resources = report["hosts"]["edge00.earth"]["steps"]
    assert (version["status"], version["attempts"]) == ("unreachable", 3)
    assert (resources["status"], resources["attempts"]) == ("skipped", 0)
    assert "edge00.earth" in stdout and "unreachable" in stdout
    # 3 attempts of at most 3 s, with 0.2 s and 0.2 s between them
    assert elapsed < OVERHEAD + 3 * 3 + 0.4


def test_slow_devices_fail_at_the_step_timeout(lab: Any, tmp_path: Path) -> None:
    fleet = lab("--slow", "spine00.*")
    code, report, elapsed, stdout = run("slow.yml", fleet.url, tmp_path)
    assert code == 2
    assert statuses(report) == {
        name: "failed" if name == "spine00.earth" else "ok" for name in report["hosts"]
    }
    step = report["hosts"]["spine00.earth"]["steps"][0]
    assert step["error"] == "step timed out after 1s (its timeout)"
    assert step["attempts"] == 2
    assert 1.9 <= step["duration"] < 6.0  # 2 attempts of 1 s, not the device's hour
    assert "step timed out after 1s" in stdout
    # 2 attempts of 1 s: the hour the device takes to answer is never waited for
    assert elapsed < OVERHEAD + 2 * 1


def test_install_failures_fail_the_host_and_halt_its_group(lab: Any, tmp_path: Path) -> None:
    fleet = lab("--install-failure-rate", "1")
    code, report, elapsed, _ = run("upgrade.yml", fleet.url, tmp_path)
    assert code == 2
    hosts = report["hosts"]
    failed = {n for n, h in hosts.items() if h["status"] == "failed"}
    assert len(hosts) == HOSTS
    # one failure per redundancy group (edge rack 10, spine racks 20/21, leaf racks 100/101)
    assert len(failed) == 5
    for name, host in hosts.items():
        if name in failed:
            (step,) = host["steps"]
            assert step["error"].startswith("install_failed: "), step
            assert step["attempts"] == 2
        else:
            assert host["status"] == "skipped", (name, host)
            assert "in redundancy group earth-" in host["error"], host
            assert any(host["error"] == f"not started: {f} in {_group(f)} failed" for f in failed)
    assert {d["version"] for d in _devices(fleet.url).values()} != {"6.0.0"}
    # 5 groups run side by side: 2 attempts of at most 5 s each
    assert elapsed < OVERHEAD + 2 * 5


def test_a_device_stuck_in_its_reboot_fails_and_halts_its_group(lab: Any, tmp_path: Path) -> None:
    fleet = lab("--stuck", "leaf0[01].*", "--reboot-seconds", "0.2")
    code, report, elapsed, _ = run("upgrade.yml", fleet.url, tmp_path)
    assert code == 2
    hosts = statuses(report)
    (stuck,) = (n for n, s in hosts.items() if s == "failed")
    assert stuck in {"leaf00.earth", "leaf01.earth"}
    other = ({"leaf00.earth", "leaf01.earth"} - {stuck}).pop()
    assert hosts[other] == "skipped"
    assert report["hosts"][other]["error"] == (
        f"not started: {stuck} in redundancy group earth-leaf-100 failed"
    )
    assert {s for n, s in hosts.items() if n not in (stuck, other)} == {"changed"}
    step = report["hosts"][stuck]["steps"][0]
    assert step["error"] == "device did not come back within 1.5s after its reboot"
    assert step["attempts"] == 1  # a retry would only find it down: never retried
    # each group: two hosts in turn; the stuck one waits 1.5 s for its reboot, once
    assert elapsed < OVERHEAD + 5 + 1.5


def test_wrong_credentials_fail_at_once_without_retries(lab: Any, tmp_path: Path) -> None:
    fleet = lab()
    # no authentication-failure limit: every host tries (test_auth_limit.py has the limit)
    code, report, elapsed, stdout = run(
        "credentials.yml", fleet.url, tmp_path, WRONG_PASSWORD, "--auth-failure-limit", "0"
    )
    assert code == 2
    assert set(statuses(report).values()) == {"failed"}
    assert len(report["hosts"]) == HOSTS
    for host in report["hosts"].values():
        (step,) = host["steps"]
        assert step["attempts"] == 1
        assert step["error"].startswith("authentication failed (user 'netops')"), step
    assert "authentication failed" in stdout
    # not retried: 3 retries 0.5 s apart would add 1.5 s to every host
    assert elapsed < OVERHEAD + 3


def test_the_lab_killed_mid_run_leaves_every_remaining_host_unreachable(
    lab: Any, tmp_path: Path
) -> None:
    fleet = lab("--latency-ms", "60")
    env = processes.environment(fleet.url)
    with Gate() as gate:
        runbook = tmp_path / "audit.yml"
        runbook.write_text((RUNBOOKS / "audit.yml").read_text() + gate.step())
        started = time.monotonic()
        acmerun = processes.start_acmerun(
            str(runbook), "--report", "report.json", env=env, cwd=tmp_path
        )
        try:
            # a host has done its device steps and waits at the gate: the run is mid-way
            (done,) = gate.wait_for(1)
            fleet.send_signal(signal.SIGKILL)
            fleet.communicate(timeout=10)
            gate.open()
            acmerun.communicate(timeout=60)
        finally:
            acmerun.kill()
    elapsed = time.monotonic() - started
    assert acmerun.returncode == 3
    report = json.loads((tmp_path / "report.json").read_text())
    hosts = statuses(report)
    assert len(hosts) == HOSTS
    assert hosts[done.host] == "ok"
    assert set(hosts.values()) == {"ok", "unreachable"}
    # 2 workers: at most the other host in flight got its answers before the kill
    assert report["totals"]["ok"] <= 2
    for name, host in report["hosts"].items():
        if host["status"] == "unreachable":
            assert any(s["status"] == "unreachable" for s in host["steps"]), name
    # the hosts left: 2 attempts each, refused at once, 0.1 s apart, 2 at a time
    assert elapsed < OVERHEAD + math.ceil(HOSTS / 2) * (2 * 2 + 0.1)


def _group(name: str) -> str:
    device = name.split(".")[0]
    kind, number = device.rstrip("0123456789"), int(device.lstrip("edgspinlaf"))
    base = {"edge": 10, "spine": 20, "leaf": 100}[kind]
    return f"redundancy group earth-{kind}-{base + number // 2}"


def _devices(url: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"{url}/lab/devices", timeout=5) as answer:
        devices: dict[str, Any] = json.load(answer)
    return devices
