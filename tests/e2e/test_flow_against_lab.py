"""rescue, log and wait from a real ``python -m acmerun`` against a real lab process."""

from __future__ import annotations

import json
import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.credentials import LAB_PASSWORD


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[processes.LabProcess]:
    started = processes.start_lab(cwd=tmp_path, leaves=2)
    yield started
    started.stop()


RESCUED = """name: "Probe {{ what }}"
vars: {what: resources}
inventory: {options: {filter_sites: [earth]}, filter: {dev_type: leaf}}
steps:
  - name: probe
    steps:
      - task: acmeos.get_cpu_ram
        register: res
        assert: res.cpu > 1000
    rescue:
      - name: note the rescue
        task: log
        args: {msg: "rescued {{ inventory_hostname }}"}
    always:
      - task: log
        args: {msg: "probe ended"}
  - task: acmeos.get_version
"""


def test_a_rescued_step_keeps_the_host_ok_in_every_report(
    lab: processes.LabProcess, tmp_path: Path
) -> None:
    (tmp_path / "rb.yml").write_text(RESCUED)
    run = processes.run_acmerun(
        "rb.yml",
        "--report",
        "run.json",
        "--junit",
        "run.xml",
        "--log-file",
        "run.log",
        "-e",
        "what=leaves",
        env=processes.environment(lab.url),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["runbook"]["name"] == "Probe leaves"
    assert "RECAP: Probe leaves" in run.stdout
    assert report["totals"]["ok"] == 2 and report["rescued_steps"] == 2
    for name, host in report["hosts"].items():
        probe = host["steps"][0]
        assert probe["status"] == "rescued"
        assert probe["error"].startswith("acmeos.get_cpu_ram: assertion failed: res.cpu > 1000")
        assert [s["name"] for s in probe["steps"]] == ["acmeos.get_cpu_ram", "rescue", "always"]
        assert probe["steps"][1]["steps"][0]["result"] == f"rescued {name}"
        assert host["rescued"] == 1
    suite = ET.parse(tmp_path / "run.xml").getroot()
    assert suite.get("failures") == "0"
    log = (tmp_path / "run.log").read_text()
    assert "probe ended" in log and "rescued leaf" in log
    for text in (run.stdout, run.stderr, log, (tmp_path / "run.json").read_text()):
        assert LAB_PASSWORD not in text


WAITING = """name: wait
inventory: {options: {filter_sites: [earth]}, filter: {dev_type: leaf}}
steps:
  - task: log
    args: {msg: "about to wait"}
  - task: wait
    args: {seconds: 3600}
  - task: acmeos.get_version
"""


def test_sigint_ends_a_wait_at_once(lab: processes.LabProcess, tmp_path: Path) -> None:
    (tmp_path / "rb.yml").write_text(WAITING)
    log = tmp_path / "run.log"
    proc = processes.start_acmerun(
        "rb.yml",
        "--report",
        "run.json",
        "--log-file",
        str(log),
        env=processes.environment(lab.url),
        cwd=tmp_path,
    )
    try:
        processes.wait_until(
            lambda: log.exists() and log.read_text().count("about to wait") == 2,
            "both hosts logged before their wait",
        )
        processes.wait_until_caught(proc, signal.SIGINT)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert code == 99
    assert took < 10
    report = json.loads((tmp_path / "run.json").read_text())
    for host in report["hosts"].values():
        assert [s["status"] for s in host["steps"]] == ["ok", "interrupted", "interrupted"]


ONCE = """name: once
inventory: {options: {filter_sites: [earth]}, filter: {dev_type: leaf}}
strategy: {serial: 1}
steps:
  - name: read once
    task: acmeos.get_version
    register: ver
    run_once: true
  - task: log
    args: {msg: "fleet runs {{ ver.full_version }}"}
"""


def test_run_once_is_once_per_run_across_serial_batches(
    lab: processes.LabProcess, tmp_path: Path
) -> None:
    (tmp_path / "rb.yml").write_text(ONCE)
    run = processes.run_acmerun(
        "rb.yml", "--report", "run.json", env=processes.environment(lab.url), cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    hosts = json.loads((tmp_path / "run.json").read_text())["hosts"]
    assert len(hosts) == 2
    assert sorted(h["steps"][0]["attempts"] for h in hosts.values()) == [0, 1]
    logged = {h["steps"][1]["result"] for h in hosts.values()}
    assert len(logged) == 1 and logged.pop().startswith("fleet runs ")


NO_LOG = """name: hidden
inventory: {options: {filter_sites: [earth]}, filter: {dev_type: leaf}}
vars: {token: tok-7f3a9-value}
steps:
  - name: use the token
    task: tests.unit.runbook.tasks_for_tests:fail
    args: {message: "refused {{ token }}"}
    no_log: true
    ignore_errors: true
  - name: say the token
    task: log
    args: {msg: "the token is {{ token }}"}
    no_log: true
"""


def test_no_log_hides_args_results_and_errors_in_every_output(
    lab: processes.LabProcess, tmp_path: Path
) -> None:
    (tmp_path / "rb.yml").write_text(NO_LOG)
    run = processes.run_acmerun(
        "rb.yml",
        "--report",
        "run.json",
        "--junit",
        "run.xml",
        "--log-file",
        "run.log",
        env=processes.environment(lab.url),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = [run.stdout, run.stderr]
    outputs += [(tmp_path / f).read_text() for f in ("run.json", "run.xml", "run.log")]
    assert [o for o in outputs if "tok-7f3a9" in o] == []
    host = json.loads(outputs[2])["hosts"]["leaf00.earth"]
    assert host["steps"][0]["error"] == "details hidden (no_log): ******** (ignored)"
    assert host["steps"][1]["result"] == "********"
