"""A canary rollout on a Dask cluster: every batch boundary, gate and pause is global."""

from __future__ import annotations

import itertools
import json
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import acmerun, write_runbook

pytest.importorskip("distributed", reason="Dask distributed is not installed")

SITES = ("--site", "earth", "--site", "mars", "--leaves", "4", "--reboot-seconds", "0.2")
#: the first device of the lab's inventory: the canary of ``canary: 1``
CANARY = "edge00.earth"
ROLLOUT = """\
name: canary rollout of two sites
inventory:
  plugin: ACMEInventory
strategy:
  workers: 8
  canary: 1
  serial: ["60%"]
  rolling:
    group_by: "{{ site }}-{{ dev_type }}-{{ rack }}"
  gate:
    - name: neighbors established
      task: acmeos.get_neighbors
      register: nb
      until: nb.not_established | length == 0
      retries: 2
      delay: 0.5
  pause: 0.3
steps:
  - name: upgrade
    task: acmeos.upgrade_os
    args: {version: "5.4.1"}
"""


def get(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=30) as answer:
        return json.load(answer)


def moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_rollout(url: str, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    assert get(url, "/api/v1/inventory/hosts")["hosts"][0]["name"] == CANARY
    runbook = write_runbook(tmp_path, ROLLOUT)
    done = acmerun(
        str(runbook), "--cluster", "local:2", "--report", "r.json", url=url, cwd=tmp_path,
        timeout=300,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads((tmp_path / "r.json").read_text())


def test_a_failed_gate_on_the_canary_stops_every_shard(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab(*SITES, "--post-upgrade-fault", CANARY)
    code, report = run_rollout(url, tmp_path)
    assert code == 2
    assert [i["device"] for i in get(url, "/lab/installs")["installs"]] == [CANARY]
    others = [h for name, h in report["hosts"].items() if name != CANARY]
    assert len(others) == 19 and {h["status"] for h in others} == {"skipped"}
    prefix = f"not started: the gate after batch 1 failed on {CANARY}: neighbors established: "
    assert all(h["error"].startswith(prefix) for h in others)
    assert report["batches"][0]["gate"] == "failed"
    assert [b["started"] for b in report["batches"][1:]] == [None, None]


def test_each_batch_spans_the_shards_and_starts_after_the_previous_gate_and_pause(
    start_lab: Callable[..., str], tmp_path: Path
) -> None:
    url = start_lab(*SITES)
    code, report = run_rollout(url, tmp_path)
    assert code == 0
    batches = report["batches"]
    assert [len(b["hosts"]) for b in batches] == [1, 11, 8]
    # a batch is the whole run's, not a shard's: the second one holds devices of both sites
    assert {name.split(".")[1] for name in batches[1]["hosts"]} == {"earth", "mars"}
    assert [b["gate"] for b in batches] == ["passed"] * 3
    for before, after in itertools.pairwise(batches):
        assert moment(before["ended"]) <= moment(before["pause_started"])
        assert moment(before["pause_ended"]) <= moment(after["started"])
    batch_of = {name: b for b in batches for name in b["hosts"]}
    installs = get(url, "/lab/installs")["installs"]
    assert len(installs) == report["totals"]["changed"] > 10
    for install in installs:
        batch = batch_of[install["device"]]
        assert moment(batch["started"]) - 0.01 <= install["at"] <= moment(batch["ended"]) + 0.01
