"""The JSON report: its content, its safety net for odd results and secrets, its file."""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acmerun import __version__
from acmerun.errors import ExitCode
from acmerun.outcome import STATUSES, HostOutcome, RunOutcome, Status
from acmerun.report.json import JsonReport, report_data, report_text


def test_report_content(outcome: RunOutcome, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    report = JsonReport(path, exit_code=ExitCode.HOST_FAILED)
    report.write(outcome)
    assert report.written == path
    data = json.loads(path.read_text())

    assert data["acmerun_version"] == __version__
    assert data["runbook"] == {
        "path": "runbooks/upgrade-earth.yml",
        "name": "Upgrade earth to AcmeOS 5.4.1",
    }
    assert data["check"] is False
    assert data["target"] == "embedded lab"
    assert data["started"] == "2026-11-24T15:17:00.000Z"
    assert data["ended"] == "2026-11-24T15:18:15.500Z"
    assert data["duration"] == 75.5
    assert data["interrupted"] is False
    assert data["exit_code"] == 2
    assert data["totals"] == {
        "ok": 1,
        "changed": 1,
        "failed": 1,
        "unreachable": 1,
        "skipped": 1,
        "interrupted": 0,
    }
    assert list(data["hosts"]) == sorted(outcome.hosts)

    spine = data["hosts"]["spine01.earth"]
    assert spine["status"] == "changed"
    assert spine["changed"] is True
    assert spine["duration"] == 31.0
    assert [s["name"] for s in spine["steps"]] == ["pre-check", "upgrade", "post-checks"]
    assert spine["steps"][0] == {
        "name": "pre-check",
        "task": "acmeos.pre-check",
        "status": "ok",
        "changed": False,
        "failed": False,
        "attempts": 1,
        "duration": 0.5,
        "result": {"cpu": 12, "ram": 40},
        "error": None,
        "steps": [],
        "down": None,
    }
    nested = spine["steps"][2]["steps"]
    assert nested[0]["name"] == "get version"
    assert nested[0]["result"] == {"full_version": "5.4.1"}

    failed = data["hosts"]["leaf002.earth"]["steps"][1]
    assert failed["status"] == "failed"
    assert failed["failed"] is True
    assert failed["attempts"] == 3
    assert failed["error"] == "install of 5.4.1 failed: disk full\nfree: 0 MiB"

    skipped = data["hosts"]["edge01.earth"]
    assert skipped["status"] == "skipped"
    assert skipped["steps"] == []
    assert skipped["error"].startswith("group earth-edge-r0 halted")


def test_every_selected_host_appears(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1)
    statuses = list(STATUSES)
    hosts = {
        f"dev{i:04d}": HostOutcome(f"dev{i:04d}", statuses[i % len(statuses)]) for i in range(1500)
    }
    outcome = RunOutcome("rb.yml", "rb", False, start, start, hosts, interrupted=True)
    path = tmp_path / "r.json"
    JsonReport(path, exit_code=99).write(outcome)
    data = json.loads(path.read_text())
    assert set(data["hosts"]) == set(hosts)
    assert sum(data["totals"].values()) == 1500
    assert data["totals"]["interrupted"] == 250
    assert data["started"] == "2026-01-01T00:00:00.000Z"


class Opaque:
    def __str__(self) -> str:
        return "<opaque device handle>"


class Broken:
    def __str__(self) -> str:
        raise RuntimeError("no")

    def __repr__(self) -> str:
        raise RuntimeError("no")


def test_results_json_cannot_hold_are_stringified(outcome: RunOutcome) -> None:
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    odd = {
        "handle": Opaque(),
        "broken": Broken(),
        ("site", 1): {3, 1, 2},
        "raw": b"\xffversion 5.4.1",
        "nan": float("nan"),
        "path": Path("/flash/image.bin"),
        "when": timedelta(seconds=90),
        "status": Status.CHANGED,
        "cycle": cyclic,
        7: None,
    }
    outcome.hosts["spine01.earth"].steps[1].result = odd
    data = report_data(outcome, exit_code=0)
    assert json.loads(report_text(outcome, exit_code=0)) == data
    result = data["hosts"]["spine01.earth"]["steps"][1]["result"]
    json.dumps(data, allow_nan=False)
    assert result == {
        "handle": "<opaque device handle>",
        "broken": "<unprintable Broken>",
        "('site', 1)": [1, 2, 3],
        "raw": "\ufffdversion 5.4.1",
        "nan": "nan",
        "path": "/flash/image.bin",
        "when": 90.0,
        "status": "changed",
        "cycle": [1, "<cycle>"],
        "7": None,
    }


def test_secrets_are_masked_everywhere(outcome: RunOutcome, tmp_path: Path) -> None:
    password = "s3cr3t-Lab-Pa55"
    spine = outcome.hosts["spine01.earth"]
    spine.steps[0].result = {"auth": {"password": password}, password: [f"x{password}x"]}
    outcome.hosts["leaf002.earth"].steps[1].error = f"login netops:{password} refused"
    outcome.hosts["edge01.earth"].error = password
    path = tmp_path / "r.json"
    JsonReport(path, exit_code=2, secrets={password, "", None}).write(outcome)
    text = path.read_text()
    assert password not in text
    data = json.loads(text)
    assert data == report_data(outcome, exit_code=2, secrets=[password])
    assert data["hosts"]["spine01.earth"]["steps"][0]["result"] == {
        "auth": {"password": "********"},
        "********": ["x********x"],
    }
    assert data["hosts"]["leaf002.earth"]["steps"][1]["error"] == "login netops:******** refused"


def test_report_replaces_the_previous_file(outcome: RunOutcome, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text("old report")
    os.chmod(path, 0o640)
    inode = path.stat().st_ino
    JsonReport(path, exit_code=0).write(outcome)
    assert json.loads(path.read_text())["exit_code"] == 0
    assert path.stat().st_ino != inode
    assert path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["run.json"]


def test_failed_write_leaves_the_previous_report_intact(
    outcome: RunOutcome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"previous": true}')

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        JsonReport(path, exit_code=0).write(outcome)
    assert json.loads(path.read_text()) == {"previous": True}
    assert os.listdir(tmp_path) == ["run.json"]


def test_unserializable_report_leaves_the_previous_report_intact(
    outcome: RunOutcome, tmp_path: Path
) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"previous": true}')
    outcome.hosts["spine01.earth"].duration = "thirty"  # type: ignore[assignment]
    with pytest.raises(TypeError):
        JsonReport(path, exit_code=0).write(outcome)
    assert json.loads(path.read_text()) == {"previous": True}
    assert os.listdir(tmp_path) == ["run.json"]


def test_report_dir_names_are_timestamped_and_unique(outcome: RunOutcome, tmp_path: Path) -> None:
    folder = tmp_path / "reports" / "earth"
    written = []
    for _ in range(3):
        report = JsonReport(directory=folder, exit_code=2)
        report.write(outcome)
        written.append(report.written)
    assert [p.name for p in written if p] == [
        "upgrade-earth-20261124T151700Z.json",
        "upgrade-earth-20261124T151700Z-2.json",
        "upgrade-earth-20261124T151700Z-3.json",
    ]
    assert sorted(os.listdir(folder)) == sorted(p.name for p in written if p)


def test_report_dir_is_unique_under_concurrent_writers(outcome: RunOutcome, tmp_path: Path) -> None:
    later = replace(outcome, started=outcome.started + timedelta(hours=1))
    names: list[str] = []
    lock = threading.Lock()

    def write() -> None:
        report = JsonReport(directory=tmp_path, exit_code=0)
        report.write(later)
        assert report.written is not None
        with lock:
            names.append(report.written.name)

    threads = [threading.Thread(target=write) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 12
    assert all(re.fullmatch(r"upgrade-earth-20261124T161700Z(-\d+)?\.json", n) for n in names)
    assert sorted(os.listdir(tmp_path)) == sorted(names)


def test_exactly_one_destination() -> None:
    with pytest.raises(ValueError):
        JsonReport(exit_code=0)
    with pytest.raises(ValueError):
        JsonReport("a.json", directory="d", exit_code=0)


def test_file_is_one_line_per_host(outcome: RunOutcome) -> None:
    text = report_text(outcome, exit_code=2)
    assert json.loads(text) == report_data(outcome, exit_code=2)
    host_lines = [line for line in text.splitlines() if line.startswith('    "')]
    assert [line.split('"')[1] for line in host_lines] == sorted(outcome.hosts)
    assert all(json.loads("{" + line.rstrip(",") + "}") for line in host_lines)


def test_a_run_with_no_hosts(outcome: RunOutcome) -> None:
    outcome.hosts = {}
    data = json.loads(report_text(outcome, exit_code=0))
    assert data["hosts"] == {}
    assert sum(data["totals"].values()) == 0
