"""What a run leaves behind, from a real ``python -m acmerun`` process: output, reports, logs.

Every test also checks that the lab's password appears nowhere: not in stdout,
stderr, the log file, the JSON report or the JUnit file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME
from tests.support.junit import assert_valid_junit

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
EARTH_HOSTS = 106


def environment(**extra: str) -> dict[str, str]:
    return processes.environment(**extra)


def lab_environment(lab_url: str) -> dict[str, str]:
    return processes.environment(lab_url)


def acmerun(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return processes.run_acmerun(*args, env=env, cwd=cwd, timeout=timeout)


def assert_no_secret(run: subprocess.CompletedProcess[str], *files: Path) -> None:
    assert LAB_PASSWORD not in run.stdout
    assert LAB_PASSWORD not in run.stderr
    for path in files:
        assert LAB_PASSWORD not in path.read_text(), path


@pytest.fixture
def lab_process(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start ``acmerun lab serve`` processes; returns their inventory URL."""
    started: list[processes.LabProcess] = []

    def start(*options: str) -> str:
        lab = processes.start_lab(*options, cwd=tmp_path, leaves=100)
        started.append(lab)
        return lab.url

    yield start
    processes.stop(started)


def test_dead_edge_exits_3_with_every_host_in_both_reports(
    lab_process: Callable[..., str], tmp_path: Path
) -> None:
    url = lab_process("--dead", "edge00.*")
    run = acmerun(
        str(DATA / "upgrade.yml"),
        "--report",
        "run.json",
        "--junit",
        "run.xml",
        "--log-file",
        "logs/run.log",
        env=lab_environment(url),
        cwd=tmp_path,
    )
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stdout.splitlines()[0] == f"target: inventory {url}"
    report = json.loads((tmp_path / "run.json").read_text())
    assert len(report["hosts"]) == EARTH_HOSTS
    assert report["hosts"]["edge00.earth"]["status"] == "unreachable"
    others = {h["status"] for n, h in report["hosts"].items() if not n.startswith("edge")}
    assert others <= {"changed", "ok"}
    # edge01 is the only working device of edge00's redundancy group: rebooting it too
    # would take the whole group down, so it is held back, with the reason
    edge01 = report["hosts"]["edge01.earth"]
    assert edge01["status"] == "skipped"
    assert edge01["error"] == (
        "not started: edge00.earth in redundancy group earth-edge-10 was unreachable"
    )
    assert report["exit_code"] == 3
    suites = assert_valid_junit(tmp_path / "run.xml")
    cases = suites.iter("testcase")
    assert {c.get("classname", "") + c.get("name", "") for c in cases}
    assert "edge00.earth" in (tmp_path / "run.xml").read_text()
    log = (tmp_path / "logs" / "run.log").read_text()
    assert "nornir" in log and "edge00.earth" in log
    assert "edge00.earth" in run.stdout and "unreachable" in run.stdout
    assert_no_secret(run, tmp_path / "run.json", tmp_path / "run.xml", tmp_path / "logs/run.log")
    assert not (tmp_path / "nornir.log").exists()


def test_quiet_prints_nothing_when_all_is_well(lab: Any, tmp_path: Path) -> None:
    run = acmerun(
        str(DATA / "audit.yml"),
        "--quiet",
        "--report-dir",
        "reports",
        env=lab_environment(lab.url),
        cwd=tmp_path,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    report, page = sorted((tmp_path / "reports").iterdir(), key=lambda p: p.suffix != ".json")
    assert report.suffix == ".json"
    assert page.name == report.stem + ".html"  # the HTML report, alongside
    assert len(json.loads(report.read_text())["hosts"]) == EARTH_HOSTS
    again = acmerun(
        str(DATA / "audit.yml"),
        "-q",
        "--report-dir",
        "reports",
        env=lab_environment(lab.url),
        cwd=tmp_path,
    )
    assert again.returncode == 0
    assert len(list((tmp_path / "reports").glob("*.json"))) == 2
    assert len(list((tmp_path / "reports").glob("*.html"))) == 2
    assert not (tmp_path / "nornir.log").exists()


def test_quiet_prints_the_recap_of_problems(make_lab: Callable[..., Any], tmp_path: Path) -> None:
    lab = make_lab(sites=["earth"], dead=["spine03.*"])
    run = acmerun(str(DATA / "audit.yml"), "-q", env=lab_environment(lab.url), cwd=tmp_path)
    assert run.returncode == 3
    lines = run.stdout.splitlines()
    assert lines[0] == f"target: inventory {lab.url}"
    assert any(line.startswith("spine03.earth") for line in lines)
    assert not any(line.startswith("spine02.earth") for line in lines)
    assert_no_secret(run)


def test_a_reader_that_stops_early_costs_neither_the_reports_nor_the_exit_code(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    # as in `acmerun runbook.yml --report r.json | head -1`
    lab = make_lab(sites=["earth"], dead=["spine03.*"])
    run = processes.start_acmerun(
        str(DATA / "audit.yml"), "--report", "r.json", "--junit", "r.xml",
        env=lab_environment(lab.url), cwd=tmp_path,
    )  # fmt: skip
    assert run.readline() == f"target: inventory {lab.url}\n"
    assert run.proc.stdout is not None
    run.proc.stdout.close()
    assert run.wait(timeout=60) == 3
    assert len(json.loads((tmp_path / "r.json").read_text())["hosts"]) == EARTH_HOSTS
    assert ET.parse(tmp_path / "r.xml").getroot().tag == "testsuites"


def test_output_has_no_color_when_not_a_terminal(lab: Any, tmp_path: Path) -> None:
    run = acmerun(str(DATA / "audit.yml"), env=lab_environment(lab.url), cwd=tmp_path)
    assert run.returncode == 0
    assert "\x1b[" not in run.stdout
    assert "hosts: 106 " in run.stdout


def test_credentials_from_the_config_file(lab: Any, tmp_path: Path) -> None:
    config = tmp_path / "acmerun.yml"
    config.write_text(
        f"inventory: {{url: '{lab.url}'}}\n"
        f"credentials: {{username: {LAB_USERNAME}, password_env: LAB_PW}}\n"
        "report_dir: from-config\n"
    )
    env = environment(LAB_PW=LAB_PASSWORD)
    run = acmerun(
        str(DATA / "audit.yml"),
        "--config",
        str(config),
        "--log-file",
        "run.log",
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0] == f"target: inventory {lab.url}"
    page, report = sorted((tmp_path / "from-config").iterdir(), key=lambda p: p.suffix)
    assert (page.suffix, report.suffix) == (".html", ".json")
    assert_no_secret(run, report, page, tmp_path / "run.log")
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(f"inventory: {{url: '{lab.url}'}}\ncredentials: {{password: nope}}\n")
    run = acmerun(str(DATA / "audit.yml"), "--config", str(wrong), env=environment(), cwd=tmp_path)
    assert run.returncode == 2
    assert "nope" not in run.stdout and "nope" not in run.stderr


def unconfigured() -> dict[str, str]:
    """The environment of a machine with no inventory service configured."""
    env = environment()
    for var in ("ACME_INVENTORY_URL", "ACMEOS_USERNAME", "ACMEOS_PASSWORD", "ACMERUN_CONFIG"):
        env.pop(var, None)
    return env


def test_without_an_inventory_a_cron_run_exits_5_and_never_runs_the_simulator(
    tmp_path: Path,
) -> None:
    env = unconfigured()
    cron = {k: env[k] for k in ("PATH", "PYTHONPATH", "ACMERUN_STATE_DIR", "HOME") if k in env}
    run = acmerun(str(DATA / "upgrade.yml"), "--report", "r.json", env=cron, cwd=tmp_path)
    assert run.returncode == 5
    assert run.stdout == ""
    assert run.stderr == (
        "acmerun: error: no inventory service configured (the inventory's url option, "
        "$ACME_INVENTORY_URL, the config file's inventory.url): set ACME_INVENTORY_URL or the "
        "config file's inventory.url to use real devices, or pass --lab to run against the "
        "simulated lab\n"
    )
    assert not (tmp_path / "r.json").exists()
    assert not (Path(env["ACMERUN_STATE_DIR"]) / "lab-state.json").exists()


def test_without_an_inventory_a_person_at_a_terminal_gets_the_embedded_lab(
    tmp_path: Path,
) -> None:
    env = unconfigured()
    code, output = run_on_a_terminal([str(DATA / "audit.yml"), "--no-color"], env=env, cwd=tmp_path)
    assert code == 0, output
    assert output.decode().splitlines()[0].startswith("target: embedded AcmeOS lab")


def test_embedded_lab_with_lab_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    env = unconfigured()
    first = acmerun(
        str(DATA / "upgrade.yml"), "--lab", "--report", "first.json", env=env, cwd=tmp_path
    )
    assert first.returncode == 0, first.stdout + first.stderr
    state = Path(env["ACMERUN_STATE_DIR"]) / "lab-state.json"
    assert first.stdout.splitlines()[0] == (
        f"target: embedded AcmeOS lab (simulated devices on loopback; state in {state})"
    )
    totals = json.loads((tmp_path / "first.json").read_text())["totals"]
    assert totals["changed"] > 0 and totals["changed"] + totals["ok"] == EARTH_HOSTS
    second = acmerun(
        str(DATA / "upgrade.yml"), "--lab", "--report", "second.json", env=env, cwd=tmp_path
    )
    assert second.returncode == 0, second.stdout + second.stderr
    totals = json.loads((tmp_path / "second.json").read_text())["totals"]
    assert (totals["ok"], totals["changed"]) == (EARTH_HOSTS, 0)
    assert not (tmp_path / "nornir.log").exists()


def run_on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, bytes]:
    """Run acmerun with its stdout on a pseudo-terminal; return its exit code and output."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "acmerun", *args],
        env={**env, "COLUMNS": "120", "TERM": "xterm"},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.stderr is not None
    processes.record(f"terminal output of acmerun {' '.join(args)}", output)
    processes.record(f"stderr of acmerun {' '.join(args)}", process.stderr.read())
    return process.wait(timeout=120), output


def test_live_progress_on_a_terminal_only_and_never_with_quiet(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(sites=["earth"], install_seconds=0.2, reboot_seconds=0.2)
    env = lab_environment(lab.url)
    code, output = run_on_a_terminal([str(DATA / "upgrade.yml")], env, tmp_path)
    assert code == 0
    assert b"hosts" in output and b"ETA" in output
    assert LAB_PASSWORD.encode() not in output
    code, output = run_on_a_terminal([str(DATA / "upgrade.yml"), "--quiet"], env, tmp_path)
    assert (code, output) == (0, b"")
    piped = acmerun(str(DATA / "audit.yml"), env=env, cwd=tmp_path)
    assert "ETA" not in piped.stdout


def test_in_a_pipe_failures_are_lines_before_the_recap_and_there_is_no_live_line(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(sites=["earth"], dead=["spine03.*"])
    run = acmerun(str(DATA / "audit.yml"), env=lab_environment(lab.url), cwd=tmp_path)
    assert run.returncode == 3
    lines = run.stdout.splitlines()
    failure = next(i for i, line in enumerate(lines) if line.startswith("unreachable: "))
    assert lines[failure].startswith("unreachable: spine03.earth | ")
    assert failure < next(i for i, line in enumerate(lines) if line.startswith("RECAP: "))
    assert "\x1b" not in run.stdout and "\r" not in run.stdout and " ETA " not in run.stdout
    # -q: the recap alone, for cron mail
    quiet = acmerun(str(DATA / "audit.yml"), "-q", env=lab_environment(lab.url), cwd=tmp_path)
    assert not any(line.startswith("unreachable: ") for line in quiet.stdout.splitlines())
