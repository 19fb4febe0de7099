"""A runbook that captures device state, upgrades, and verifies: the canary is caught."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import processes

RUNBOOK = """\
name: upgrade with verification
inventory:
  plugin: ACMEInventory
  filter: {name__any: [leaf00.earth, leaf01.earth]}
steps:
  - task: acmeos.get_neighbors
    register: before
  - task: acmeos.upgrade_os
    args: {version: "9.0.0", reboot_timeout: 30}
  - task: acmeos.get_neighbors
    register: after
    assert: ["after.not_established == []", "after.by_peer == before.by_peer"]
  - task: acmeos.get_interfaces
    register: ifs
    assert: ["ifs.down == []"]
  - task: acmeos.reboot
    args: {reboot_timeout: 30}
"""


def test_a_device_that_comes_back_degraded_fails_its_post_check_and_is_not_rebooted(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(
        sites=["earth"], leaves=2, post_upgrade_fault=["leaf01.earth"], reboot_seconds=0.2
    )
    (tmp_path / "mop.yml").write_text(RUNBOOK)
    run = processes.run_acmerun(
        "mop.yml",
        "--report",
        "r.json",
        env=processes.environment(lab.url),
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    failures = [line for line in run.stdout.splitlines() if line.startswith("leaf01.earth |")]
    assert failures == [
        "leaf01.earth | acmeos.get_neighbors | assertion failed: after.not_established == [] "
        "(after.not_established = ['spine02.earth'])"
    ]
    hosts = json.loads((tmp_path / "r.json").read_text())["hosts"]
    assert hosts["leaf00.earth"]["status"] == "changed"
    assert hosts["leaf01.earth"]["status"] == "failed"
    # the healthy device was rebooted after its checks, the failed one was not
    assert len(lab.downtime()["leaf00.earth"]) == 2
    assert len(lab.downtime()["leaf01.earth"]) == 1
    assert sorted((r["device"], r["to"], r["result"]) for r in lab.installs()) == [
        ("leaf00.earth", "9.0.0", "installed"),
        ("leaf01.earth", "9.0.0", "installed"),
    ]
