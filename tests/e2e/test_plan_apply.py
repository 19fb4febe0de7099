"""``acmerun plan``, then ``acmerun apply PLAN`` against a lab process: the plan, or nothing."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from acmerun.plan.document import schema
from tests.support import processes
from tests.support.credentials import LAB_PASSWORD

RUNBOOK = """\
name: upgrade earth
inventory:
  plugin: ACMEInventory
steps:
  - name: pre-check
    task: acmeos.get_cpu_ram
  - name: upgrade
    task: acmeos.upgrade_os
    args: {version: "9.0.0", reboot_timeout: 30}
"""

#: the lab's devices with 4 leaves: 2 edge, 4 spine, 4 leaf
FLEET = 10


@pytest.fixture
def labs(tmp_path: Path) -> Iterator[list[processes.LabProcess]]:
    started: list[processes.LabProcess] = []
    yield started
    processes.stop(started)


def start(labs: list[processes.LabProcess], tmp_path: Path, leaves: int = 4) -> Any:
    lab = processes.start_lab(
        "--state", "lab.json", "--reboot-seconds", "0.05", cwd=tmp_path, leaves=leaves
    )
    labs.append(lab)
    return lab


def installs(lab: Any) -> list[tuple[str, str]]:
    with urllib.request.urlopen(f"{lab.url}/lab/installs", timeout=30) as answer:
        found = json.loads(answer.read())["installs"]
    return sorted((i["device"], i["to"]) for i in found if i["result"] == "installed")


def acmerun(lab: Any, tmp_path: Path, *args: str, **env: str) -> Any:
    return processes.run_acmerun(
        *args, env=processes.environment(lab.url, **env), cwd=tmp_path, timeout=240
    )


def plan(lab: Any, tmp_path: Path, *args: str) -> dict[str, Any]:
    run = acmerun(lab, tmp_path, "plan", "up.yml", "-o", "p.json", *args)
    assert run.returncode == 6, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    data: dict[str, Any] = json.loads((tmp_path / "p.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(data)
    return data


def one_error_line(run: Any) -> str:
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_apply_upgrades_the_planned_hosts_and_leaves_a_device_changed_behind_its_back(
    labs: list[processes.LabProcess], tmp_path: Path
) -> None:
    lab = start(labs, tmp_path)
    (tmp_path / "up.yml").write_text(RUNBOOK)
    planned = plan(lab, tmp_path, "-e", "api_token=" + LAB_PASSWORD, "-e", "ticket=CHG-7")
    assert len(planned["selected"]) == FLEET
    assert planned["options"]["extra_vars"] == {"api_token": "********", "ticket": "CHG-7"}
    leaf01 = planned["hosts"]["leaf01.earth"]
    assert leaf01["status"] == "changed"
    assert leaf01["changes"][0]["after"] == "9.0.0"
    assert leaf01["state"]["running"] == leaf01["changes"][0]["before"]
    assert LAB_PASSWORD not in (tmp_path / "p.json").read_text()
    assert installs(lab) == []

    # leaf01 is upgraded by another run meanwhile
    behind = acmerun(lab, tmp_path, "up.yml", "--limit", "leaf01.earth", "-q")
    assert behind.returncode == 0, behind.stdout + behind.stderr
    assert installs(lab) == [("leaf01.earth", "9.0.0")]

    run = acmerun(
        lab,
        tmp_path,
        "apply",
        "p.json",
        "-e",
        "api_token=" + LAB_PASSWORD,
        "--report",
        "r.json",
        "--junit",
        "j.xml",
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == ""
    done = installs(lab)
    assert done.count(("leaf01.earth", "9.0.0")) == 1
    assert sorted(set(done)) == sorted((name, "9.0.0") for name in planned["selected"])
    reason = f"changed since the plan: running 9.0.0, planned from {leaf01['state']['running']}"
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert hosts["leaf01.earth"]["status"] == "skipped"
    assert hosts["leaf01.earth"]["error"] == reason
    assert {h["status"] for n, h in hosts.items() if n != "leaf01.earth"} == {"changed"}
    assert f"upgrade | {reason} | 1 host" in run.stdout
    assert reason in (tmp_path / "j.xml").read_text()


def test_a_runbook_edited_after_planning_makes_apply_refuse_the_whole_plan(
    labs: list[processes.LabProcess], tmp_path: Path
) -> None:
    lab = start(labs, tmp_path)
    (tmp_path / "up.yml").write_text(RUNBOOK + "  - include: checks.yml\n")
    checks = "- task: acmeos.get_version\n"
    (tmp_path / "checks.yml").write_text(checks)
    planned = plan(lab, tmp_path)
    assert planned["runbook"]["includes"][0]["path"] == str(tmp_path / "checks.yml")
    (tmp_path / "checks.yml").write_text(checks + "- task: acmeos.get_cpu_ram\n")
    edited = acmerun(lab, tmp_path, "apply", "p.json")
    assert edited.returncode == 8
    assert one_error_line(edited).startswith(
        f"acmerun: error: {tmp_path / 'checks.yml'}, included by runbook "
        f"{tmp_path / 'up.yml'}, changed since the plan (sha256 "
    )
    (tmp_path / "checks.yml").write_text(checks)
    (tmp_path / "up.yml").write_text(RUNBOOK.replace("9.0.0", "9.0.1"))
    before = (tmp_path / "p.json").read_bytes()
    run = acmerun(lab, tmp_path, "apply", "p.json")
    assert run.returncode == 8
    line = one_error_line(run)
    assert line.startswith(f"acmerun: error: runbook {tmp_path / 'up.yml'} changed since the plan")
    assert planned["runbook"]["sha256"][:12] in line
    assert installs(lab) == []
    assert (tmp_path / "p.json").read_bytes() == before


def test_options_that_differ_from_the_plan_are_refused(
    labs: list[processes.LabProcess], tmp_path: Path
) -> None:
    lab = start(labs, tmp_path)
    (tmp_path / "up.yml").write_text(RUNBOOK)
    plan(lab, tmp_path, "--limit", "leaf*", "-e", "db_password=" + LAB_PASSWORD)
    cases = {
        ("--limit", "spine*"): "options differ: --limit (the plan's: 'leaf*', given: 'spine*')",
        ("-e", "db_password=other"): "options differ: -e db_password (not the value",
        ("-e", "ticket=1"): "options differ: -e ticket (the plan's: not set, given: 1)",
    }
    for args, expected in cases.items():
        run = acmerun(lab, tmp_path, "apply", "p.json", *args)
        assert run.returncode == 8, (args, run.stdout, run.stderr)
        assert one_error_line(run).startswith(f"acmerun: error: {expected}"), run.stderr
    missing = acmerun(lab, tmp_path, "apply", "p.json")
    assert missing.returncode == 5
    assert "db_password is secret" in one_error_line(missing)
    assert installs(lab) == []


def test_a_host_added_to_the_inventory_after_the_plan_is_not_touched(
    labs: list[processes.LabProcess], tmp_path: Path
) -> None:
    lab = start(labs, tmp_path, leaves=4)
    (tmp_path / "up.yml").write_text(RUNBOOK)
    planned = plan(lab, tmp_path)
    assert "leaf04.earth" not in planned["selected"]
    labs.pop().stop()
    grown = start(labs, tmp_path, leaves=5)
    run = acmerun(grown, tmp_path, "apply", "p.json", "--report", "r.json")
    assert run.returncode == 0, run.stdout + run.stderr
    done = installs(grown)
    assert sorted(done) == sorted((name, "9.0.0") for name in planned["selected"])
    assert "leaf04.earth" not in json.loads((tmp_path / "r.json").read_text())["hosts"]


def test_a_stale_plan_is_refused_and_a_plan_with_nothing_to_change_exits_0(
    labs: list[processes.LabProcess], tmp_path: Path
) -> None:
    lab = start(labs, tmp_path)
    (tmp_path / "up.yml").write_text(RUNBOOK)
    planned = plan(lab, tmp_path)
    old = datetime.now(timezone.utc) - timedelta(hours=3, minutes=1)
    planned["created"] = old.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    (tmp_path / "old.json").write_text(json.dumps(planned))
    run = acmerun(lab, tmp_path, "apply", "old.json", ACMERUN_PLAN_MAX_AGE="1h")
    assert run.returncode == 8
    assert one_error_line(run).startswith(
        "acmerun: error: plan is 3h1m old, older than plan_max_age 1h"
    )
    assert installs(lab) == []
    applied = acmerun(lab, tmp_path, "apply", "p.json", "-q")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # a symlink at -o is replaced by the plan, the file it named is left alone
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("keep")
    (tmp_path / "again.json").symlink_to(tmp_path / "elsewhere" / "keep.txt")
    again = acmerun(lab, tmp_path, "plan", "up.yml", "-o", "again.json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert (tmp_path / "elsewhere" / "keep.txt").read_text() == "keep"
    assert not (tmp_path / "again.json").is_symlink()
    assert (tmp_path / "again.json").stat().st_mode & 0o777 == 0o640
    assert f"0 hosts to change, {FLEET} hosts with nothing to change" in again.stdout
    nothing = acmerun(lab, tmp_path, "apply", "again.json")
    assert nothing.returncode == 0
    assert "nothing to apply" in nothing.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not a plan: not JSON (line 1, column 2)"),
        ('{"format": "acmerun-plan", "version": 1}', "not a valid plan: at (the top): "),
        ('{"format": "acmerun-plan", "version": 2}', "plan format version 2 is newer"),
        ("[]", "not a plan (no"),
    ],
)
def test_a_file_that_is_not_a_plan_is_exit_5_and_one_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / "p.json").write_text(content)
    run = processes.run_acmerun(
        "apply", "p.json", env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert run.returncode == 5
    assert one_error_line(run).startswith(f"acmerun: error: p.json: {expected}")


def test_a_host_unreachable_while_planning_is_not_planned_and_apply_leaves_it(
    labs: list[processes.LabProcess], tmp_path: Path
) -> None:
    lab = processes.start_lab("--dead", "leaf00.earth", cwd=tmp_path, leaves=2)
    labs.append(lab)
    (tmp_path / "up.yml").write_text(RUNBOOK)
    run = acmerun(lab, tmp_path, "plan", "up.yml", "-o", "p.json")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    planned = json.loads((tmp_path / "p.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(planned)
    dead = planned["hosts"]["leaf00.earth"]
    assert dead["status"] == "unreachable" and dead["state"] is None
    assert "7 hosts to change, 0 hosts with nothing to change, 1 host not planned" in run.stdout
    assert any(
        line.startswith("  not planned: leaf00.earth: unreachable: ")
        for line in run.stdout.splitlines()
    ), run.stdout
    applied = acmerun(lab, tmp_path, "apply", "p.json", "--report", "r.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "leaf00.earth" not in json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert len(installs(lab)) == 7


def test_a_plan_path_that_cannot_be_written_is_exit_5_before_any_device_is_touched(
    tmp_path: Path,
) -> None:
    (tmp_path / "up.yml").write_text(RUNBOOK)
    (tmp_path / "adir").mkdir()
    run = processes.run_acmerun(
        "plan", "up.yml", "-o", "adir", env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert run.returncode == 5
    assert "'adir' is a directory" in one_error_line(run)
    (tmp_path / "afile").write_text("")
    unwritable = processes.run_acmerun(
        "plan", "up.yml", "-o", "afile/sub/p.json", env=processes.environment(), cwd=tmp_path
    )
    assert unwritable.returncode == 5
    assert one_error_line(unwritable).startswith("acmerun: error: -o: cannot create afile/sub")
