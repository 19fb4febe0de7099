"""The login rate (``strategy.connect_rate``) as the devices see it: the lab's session log.

Real lab processes and real ``acmerun`` processes; the lab counts the sessions its
devices opened in each calendar second of its own clock, which is what an AAA
server behind the devices would see.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes

RUNBOOK = Path(__file__).resolve().parents[2] / "bench" / "runbooks" / "three-calls.yml"
#: 10 sites of 2 edge, 4 spine and 100 leaf devices
FLEET = 1060
WORKERS = 1000
RATE = 50


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[processes.LabProcess]:
    started = [processes.start_lab("--sites", "10", cwd=tmp_path, sites=(), leaves=100)]
    yield started[0]
    processes.stop(started)


def per_second(lab: processes.LabProcess) -> dict[int, int]:
    """The lab's new sessions in each second of its clock (epoch seconds), so far."""
    return {second: n for second, n in lab.launched.sessions()["per_second"]}


def run(
    lab: processes.LabProcess, tmp_path: Path, runbook: Path, *options: str
) -> tuple[Any, dict[str, Any], list[int]]:
    """The run to its end: its process, its JSON report, the sessions it opened each second."""
    before = per_second(lab)
    done = processes.run_acmerun(
        str(runbook),
        "--workers",
        str(WORKERS),
        "--report",
        "report.json",
        *options,
        env=processes.environment(lab.url),
        cwd=tmp_path,
        timeout=240,
    )
    assert "Traceback" not in done.stderr, done.stderr
    after = per_second(lab)
    opened = [n - before.get(second, 0) for second, n in sorted(after.items())]
    return done, json.loads((tmp_path / "report.json").read_text()), [n for n in opened if n]


@pytest.mark.slow
@pytest.mark.parametrize("given", ["option", "runbook", "none"])
def test_no_second_sees_more_new_sessions_than_the_rate(
    fleet: processes.LabProcess, tmp_path: Path, given: str
) -> None:
    runbook, options = RUNBOOK, ("--connect-rate", str(RATE))
    if given == "runbook":
        runbook, options = tmp_path / "rb.yml", ()
        strategy = f"strategy: {{connect_rate: {RATE}}}\nsteps:\n"
        runbook.write_text(RUNBOOK.read_text().replace("steps:\n", strategy, 1))
    elif given == "none":
        options = ()
    done, report, opened = run(fleet, tmp_path, runbook, *options)
    assert done.returncode == 0, done.stdout[-2000:]
    assert report["totals"]["ok"] == FLEET
    assert sum(opened) == FLEET
    if given == "none":
        # without a rate, a thousand workers log in far faster: the check can fail
        assert max(opened) > RATE, opened
        assert report["login_rate"] is None
        assert "login rate" not in done.stdout
        return
    assert max(opened) <= RATE, opened
    # the rate binds: the logins take at least FLEET / RATE seconds
    assert len(opened) >= FLEET // RATE
    figures = report["login_rate"]
    assert figures["connect_rate"] == RATE and figures["logins"] == FLEET
    assert figures["held"] > FLEET - 2 * RATE and figures["waited_seconds"] > 0
    line = f"login rate {RATE}/s: {figures['held']} of {FLEET} logins waited "
    assert line in done.stdout


def test_sigint_while_hosts_wait_for_a_login_exits_99_at_once(tmp_path: Path) -> None:
    lab = processes.start_lab(cwd=tmp_path, leaves=14)  # 20 devices
    try:
        proc = processes.start_acmerun(
            str(RUNBOOK),
            "--workers",
            "20",
            "--connect-rate",
            "1",
            "--report",
            "report.json",
            env=processes.environment(lab.url),
            cwd=tmp_path,
        )
        try:
            processes.wait_until(
                lambda: lab.launched.sessions()["total"] >= 2, "two hosts logged in"
            )
            processes.wait_until_caught(proc, signal.SIGINT)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
            took = time.monotonic() - sent
            code = proc.returncode
        finally:
            proc.kill()
        logged_in = lab.launched.sessions()["total"]
    finally:
        lab.stop()
    assert code == 99
    assert took < 5
    assert "Traceback" not in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["hosts"]) == 20
    assert report["interrupted"] is True
    hosts = report["hosts"].values()
    assert {h["status"] for h in hosts} <= {"ok", "interrupted"}
    waited = "run interrupted while waiting to log in (connect_rate 1/s)"
    never = [h for h in hosts if h["steps"] and h["steps"][0]["error"] == waited]
    assert len(never) == 20 - logged_in > 0
    assert all(h["status"] == "interrupted" for h in never)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "strategy.connect_rate: 0 is less than the smallest allowed, 1"),
        ("-5", "strategy.connect_rate: -5 is less than the smallest allowed, 1"),
        ('"fast"', "strategy.connect_rate: 'fast' is not of type 'integer'"),
        ("2.5", "strategy.connect_rate: 2.5 is not of type 'integer'"),
    ],
)
def test_a_bad_rate_in_the_runbook_is_exit_4_at_its_place(
    tmp_path: Path, value: str, says: str
) -> None:
    runbook = tmp_path / "rb.yml"
    runbook.write_text(
        "name: rate\ninventory: {plugin: ACMEInventory}\n"
        f"strategy:\n  connect_rate: {value}\nsteps:\n  - task: acmeos.get_version\n"
    )
    done = processes.run_acmerun(
        str(runbook), "--lab", env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert done.returncode == 4
    assert done.stderr.splitlines() == [
        f"{runbook}:4:17: {says}",
        "acmerun: error: runbook invalid (1 error)",
    ]


@pytest.mark.parametrize(
    ("where", "value", "says"),
    [
        ("option", "0", "'--connect-rate': 0 is not in the range 1<=x<=100000."),
        ("option", "fast", "Invalid value for '--connect-rate': 'fast' is not a valid integer"),
        ("config", "0", "c.yml:1:15: connect_rate: expected a whole number, 1 to 100000, got 0"),
        ("config", "fast", "connect_rate: expected a whole number, 1 to 100000, got 'fast'"),
    ],
)
def test_a_bad_rate_option_or_setting_is_exit_5(
    tmp_path: Path, where: str, value: str, says: str
) -> None:
    env = processes.environment()
    options: tuple[str, ...] = ("--connect-rate", value)
    if where == "config":
        (tmp_path / "c.yml").write_text(f"connect_rate: {value}\n")
        env["ACMERUN_CONFIG"] = str(tmp_path / "c.yml")
        options = ()
    done = processes.run_acmerun(str(RUNBOOK), "--lab", *options, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 5
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("acmerun: error: ") and says in line, line
