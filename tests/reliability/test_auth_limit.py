"""A wrong password is tried on a few devices only: the authentication-failure limit.

Real lab processes whose credentials differ from the run's; the lab's own count of
the logins it refused says how many devices saw the wrong password.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.support import processes
from tests.support.credentials import WRONG_PASSWORD

RUNBOOKS = Path(__file__).parent / "runbooks"
#: earth with 4 leaves: 2 edge, 4 spine, 4 leaf devices
HOSTS = 10
WORKERS = 2


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[processes.LabProcess]:
    started = [processes.start_lab(cwd=tmp_path, leaves=4)]
    yield started[0]
    processes.stop(started)


def refused_logins(lab_url: str) -> int:
    """The logins the lab refused, over its whole fleet (its own record)."""
    with urllib.request.urlopen(f"{lab_url}/lab/devices", timeout=10) as answer:
        devices: dict[str, Any] = json.load(answer)
    return sum(int(d["failed_logins"]) for d in devices.values())


def run(lab_url: str, tmp_path: Path, *options: str, **env: str) -> tuple[int, dict[str, Any], str]:
    """The credentials runbook with a wrong password: (exit code, JSON report, stdout)."""
    done = processes.run_acmerun(
        str(RUNBOOKS / "credentials.yml"),
        "--workers",
        str(WORKERS),
        "--report",
        "report.json",
        "--junit",
        "report.xml",
        "--log-file",
        "run.log",
        *options,
        env=processes.environment(lab_url, password=WRONG_PASSWORD, **env),
        cwd=tmp_path,
    )
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["hosts"]) == HOSTS
    junit = ElementTree.parse(tmp_path / "report.xml")
    assert len(junit.findall(".//testcase")) == HOSTS
    return done.returncode, report, done.stdout


@pytest.mark.parametrize("given", ["default", "option", "config"])
def test_a_wrong_password_stops_new_hosts_after_the_limit(
    lab: processes.LabProcess, tmp_path: Path, given: str
) -> None:
    options: tuple[str, ...] = ()
    env: dict[str, str] = {}
    expected = 3
    if given == "option":
        options, expected = ("--auth-failure-limit", "1"), 1
    elif given == "config":
        config = tmp_path / "config.yml"
        config.write_text("auth_failure_limit: 2\n")
        env, expected = {"ACMERUN_CONFIG": str(config)}, 2
    code, report, stdout = run(lab.url, tmp_path, *options, **env)
    assert code == 2
    hosts = report["hosts"]
    failed = sorted(n for n, h in hosts.items() if h["status"] == "failed")
    skipped = sorted(n for n, h in hosts.items() if h["status"] == "skipped")
    # the hosts in flight when the limit is reached finish: at most WORKERS - 1 more
    assert expected <= len(failed) <= expected + WORKERS - 1, failed
    assert len(failed) + len(skipped) == HOSTS
    assert refused_logins(lab.url) == len(failed)
    for name in skipped:
        reason = hosts[name]["not_run"]
        assert reason["kind"] == "auth_limit"
        assert reason["limit"] == expected
        assert hosts[name]["error"].startswith(
            f"not started: {reason['failed']} authentication failures "
            f"(auth_failure_limit {expected}; the last on "
        )
        assert reason["host"] in failed
    line = (
        f"devices refused the credentials (auth_failure_limit {expected}): no new host "
        "started; check user 'netops' (username from $ACMEOS_USERNAME, password from "
        "$ACMEOS_PASSWORD)"
    )
    shown = [s for s in stdout.splitlines() if "refused the credentials" in s]
    assert len(shown) == 1, stdout
    assert shown[0].startswith("acmerun: ") and shown[0].endswith(line), shown
    assert line in (tmp_path / "run.log").read_text()


def test_a_limit_of_0_tries_every_host(lab: processes.LabProcess, tmp_path: Path) -> None:
    code, report, stdout = run(lab.url, tmp_path, "--auth-failure-limit", "0")
    assert code == 2
    assert {h["status"] for h in report["hosts"].values()} == {"failed"}
    assert refused_logins(lab.url) == HOSTS
    assert "refused the credentials" not in stdout
