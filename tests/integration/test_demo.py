"""The nornir3 demo (docs/examples/demo.py) as a real process: the seed's output, reproduced."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME
from tests.support.processes import environment

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "docs" / "examples" / "demo.py"


def run_demo(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO)],
        cwd=cwd,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def versions(stdout: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in stdout.splitlines())


def test_the_demo_against_a_lab_with_a_dead_edge(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(sites=["earth", "mars"], dead=["edge00.*"])
    done = run_demo(
        tmp_path,
        ACME_INVENTORY_URL=lab.url,
        ACMEOS_USERNAME=LAB_USERNAME,
        ACMEOS_PASSWORD=LAB_PASSWORD,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 106
    assert lines[0] == "edge00.earth: problem communicating with device"
    devices = lab.devices()
    expected = {n: d.version for n, d in devices.items() if n.endswith(".earth")}
    expected["edge00.earth"] = "problem communicating with device"
    assert versions(done.stdout) == expected
    assert list(tmp_path.iterdir()) == []  # no nornir.log left behind
    assert LAB_PASSWORD not in done.stdout + done.stderr


def test_the_demo_with_no_configuration_runs_on_the_embedded_lab(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    first = run_demo(cwd, ACMERUN_STATE_DIR=str(state))
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    lines = first.stdout.splitlines()
    assert len(lines) == 106
    assert all(re.fullmatch(r"[a-z]+\d\d\.earth: \d+\.\d+\.\d+", line) for line in lines)
    assert list(cwd.iterdir()) == []
    assert (state / "lab-state.json").is_file()  # the fleet is kept for the next run
    second = run_demo(cwd, ACMERUN_STATE_DIR=str(state))
    assert versions(second.stdout) == versions(first.stdout)


def test_the_docs_show_the_demo_script_as_it_is() -> None:
    page = (ROOT / "docs" / "nornir-plugins.md").read_text()
    script = DEMO.read_text()
    body = script[script.index("from nornir import InitNornir") :]
    assert body in page
