"""runbooks/upgrade-with-rollback.yml against a real lab with post-upgrade faults."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.credentials import LAB_PASSWORD

RUNBOOK = str(Path(__file__).parents[2] / "runbooks" / "upgrade-with-rollback.yml")
FAULTY = ("leaf01.earth", "spine02.earth")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[processes.LabProcess]:
    faults = [arg for name in FAULTY for arg in ("--post-upgrade-fault", name)]
    started = processes.start_lab(*faults, cwd=tmp_path, leaves=2)
    yield started
    started.stop()


def lab_get(lab: processes.LabProcess, path: str) -> Any:
    with urllib.request.urlopen(f"{lab.url}{path}", timeout=30) as answer:
        return json.load(answer)


def test_faulty_devices_are_rolled_back_and_rescued_the_others_upgraded(
    lab: processes.LabProcess, tmp_path: Path
) -> None:
    before = lab_get(lab, "/lab/devices")
    run = processes.run_acmerun(
        RUNBOOK,
        "--report",
        "run.json",
        "--junit",
        "run.xml",
        "-e",
        "target_version=9.0.0",
        env=processes.environment(lab.url),
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "RECAP: Upgrade to AcmeOS 9.0.0 with rollback" in run.stdout
    report = json.loads((tmp_path / "run.json").read_text())
    hosts = report["hosts"]
    assert report["rescued_steps"] == len(FAULTY)
    after = lab_get(lab, "/lab/devices")
    installs = lab_get(lab, "/lab/installs")["installs"]
    for name, host in hosts.items():
        upgrade = host["steps"][2]
        assert host["status"] == "changed", (name, host["error"])
        if name in FAULTY:
            assert upgrade["status"] == "rescued"
            assert upgrade["error"].startswith(
                "converged: neighbors back: until after 6 attempts: not true: "
                "nb.established >= nb_before.established"
            )
            assert after[name]["version"] == before[name]["version"]
            assert not after[name]["faulted"]
            mine = [(i["from"], i["to"]) for i in installs if i["device"] == name]
            assert mine == [(before[name]["version"], "9.0.0"), ("9.0.0", before[name]["version"])]
        else:
            assert upgrade["status"] == "changed"
            assert after[name]["version"] == "9.0.0"
    assert 'failures="0"' in (tmp_path / "run.xml").read_text()
    assert LAB_PASSWORD not in run.stdout + run.stderr + (tmp_path / "run.json").read_text()


def test_check_mode_installs_nothing(lab: processes.LabProcess, tmp_path: Path) -> None:
    run = processes.run_acmerun(
        RUNBOOK,
        "--check",
        "--report",
        "run.json",
        "-e",
        "target_version=9.0.0",
        env=processes.environment(lab.url),
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert lab_get(lab, "/lab/installs")["installs"] == []
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["check"] is True and report["rescued_steps"] == 0
