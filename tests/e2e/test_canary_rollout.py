"""runbooks/upgrade-fleet.yml as a canary rollout, by a real ``acmerun`` against a lab process.

The lab's own records are the oracle: ``/lab/installs`` (which devices were upgraded,
and when) and ``/lab/downtime`` (no redundancy group ever had two devices down).
"""

from __future__ import annotations

import itertools
import json
import signal
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_rolling_fleet import (
    FLEET,
    TARGET,
    racks_ever_fully_down,
    start_fleet_lab,
)
from tests.support import processes
from tests.support.fleet import fleet_runbook

#: the first device of the lab's inventory: the canary of ``canary: 1``
CANARY = "edge00.mercury"

pytestmark = pytest.mark.slow


def get(lab: processes.LabProcess, path: str) -> Any:
    with urllib.request.urlopen(lab.url + path, timeout=30) as answer:
        return json.load(answer)


@pytest.fixture
def fleet_lab() -> Iterator[Any]:
    started: list[processes.LabProcess] = []

    def start(*options: str) -> processes.LabProcess:
        lab = start_fleet_lab(*options)
        started.append(lab)
        assert get(lab, "/api/v1/inventory/hosts")["hosts"][0]["name"] == CANARY
        return lab

    yield start
    processes.stop(started)


def run(lab: processes.LabProcess, folder: Path) -> tuple[int, dict[str, Any], str]:
    done = processes.run_acmerun(
        str(fleet_runbook(folder)), "--report", "r.json",
        env=processes.environment(lab.url), cwd=folder, timeout=600,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    report: dict[str, Any] = json.loads((folder / "r.json").read_text())
    return done.returncode, report, done.stdout


def moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_faulted_canary_fails_the_gate_and_no_other_device_is_upgraded(
    fleet_lab: Any, tmp_path: Path
) -> None:
    lab = fleet_lab("--post-upgrade-fault", CANARY)
    code, report, stdout = run(lab, tmp_path)
    assert code == 2
    assert [i["device"] for i in get(lab, "/lab/installs")["installs"]] == [CANARY]
    hosts = report["hosts"]
    assert len(hosts) == FLEET and hosts[CANARY]["status"] == "changed"
    others = {h["error"] for name, h in hosts.items() if name != CANARY}
    assert {h["status"] for name, h in hosts.items() if name != CANARY} == {"skipped"}
    assert len(others) == 1
    (message,) = others
    prefix = f"not started: the gate after batch 1 failed on {CANARY}: neighbors established: "
    assert message.startswith(prefix) and "not_established" in message
    first, *rest = report["batches"]
    assert (first["index"], first["canary"], first["hosts"]) == (1, True, [CANARY])
    assert first["gate"] == "failed" and first["gate_hosts"] == [CANARY]
    assert first["stopped"] == message and first["pause_started"] is None
    assert [len(b["hosts"]) for b in rest] == [1, 42, 211, 593]
    assert all(b["started"] is None for b in rest)
    assert f"batch 1 (canary): the gate failed on {CANARY}: neighbors established:" in stdout
    assert "batches: 1 of 5 ran (1 of 848 hosts)" in stdout


def test_a_healthy_rollout_upgrades_the_fleet_batch_by_batch_after_each_gate_and_pause(
    fleet_lab: Any, tmp_path: Path
) -> None:
    lab = fleet_lab()
    code, report, _ = run(lab, tmp_path)
    assert code == 0
    assert {d["version"] for d in get(lab, "/lab/devices").values()} == {TARGET}
    assert racks_ever_fully_down(lab) == []
    batches = report["batches"]
    assert [len(b["hosts"]) for b in batches] == [1, 1, 42, 211, 593]
    planned = [name for b in batches for name in b["hosts"]]
    assert planned != sorted(planned) and sorted(planned) == sorted(report["hosts"])
    assert [b["gate"] for b in batches] == ["passed"] * 5
    installs = get(lab, "/lab/installs")["installs"]
    batch_of = {name: b["index"] for b in batches for name in b["hosts"]}
    for before, after in itertools.pairwise(batches):
        # each batch started after the previous one's gate passed and its pause ended
        assert before["pause_started"] is not None and before["pause_ended"] is not None
        assert moment(before["ended"]) <= moment(before["pause_started"])
        assert moment(before["pause_ended"]) - moment(before["pause_started"]) >= 0.45
        assert moment(before["pause_ended"]) <= moment(after["started"])
    assert batches[-1]["pause_started"] is None
    for install in installs:
        batch = batches[batch_of[install["device"]] - 1]
        # the lab's own record: every install happened within its batch, none in a pause
        assert moment(batch["started"]) - 0.01 <= install["at"] <= moment(batch["ended"]) + 0.01
    assert len(installs) == report["totals"]["changed"] > FLEET // 2


def test_sigint_during_the_pause_ends_the_run_at_once(fleet_lab: Any, tmp_path: Path) -> None:
    lab = fleet_lab()
    path = fleet_runbook(tmp_path, pause="10m")
    log = tmp_path / "run.log"
    proc = processes.start_acmerun(
        str(path), "--report", "r.json", "--quiet", "--log-file", str(log),
        env=processes.environment(lab.url), cwd=tmp_path,
    )  # fmt: skip
    try:
        processes.wait_until(
            lambda: log.is_file() and "pause of 600 s after batch 1" in log.read_text(),
            "the rollout pauses after its canary",
            timeout=120,
        )
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        took = time.monotonic() - signalled
    finally:
        proc.kill()
    assert code == 99
    assert took < 10
    report = json.loads((tmp_path / "r.json").read_text())
    hosts = report["hosts"]
    assert len(hosts) == FLEET
    assert hosts[CANARY]["status"] == "changed"
    assert {h["status"] for n, h in hosts.items() if n != CANARY} == {"interrupted"}
    first, second = report["batches"][:2]
    assert first["gate"] == "passed" and first["pause_ended"] is not None
    assert moment(first["pause_ended"]) - moment(first["pause_started"]) < 60
    assert second["started"] is None and second["stopped"] == "not started: run interrupted"
    assert [i["device"] for i in get(lab, "/lab/installs")["installs"]] == [CANARY]
