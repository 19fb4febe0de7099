"""docs/rolling.md's plain-nornir example, run as the page gives it, against a lab."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.processes import REPO, environment, record


def example() -> str:
    text = (REPO / "docs" / "rolling.md").read_text(encoding="utf-8")
    block = re.search(r"## From a plain nornir script.*?```python\n(.*?)```", text, re.DOTALL)
    assert block is not None, "docs/rolling.md has no plain-nornir example"
    return block.group(1)


def test_the_plain_nornir_example_reports_each_host_without_a_traceback(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    lab = make_lab(sites=["earth"], leaves=4, dead=["edge00.*"])
    script = tmp_path / "upgrade.py"
    script.write_text(example(), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)],
        env=environment(lab.url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    record("stdout of the rolling example", run.stdout)
    record("stderr of the rolling example", run.stderr)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert "edge00.earth: unreachable: problem communicating with device" in lines
    skipped = "edge01.earth: skipped: not started: edge00.earth in redundancy group"
    assert any(line.startswith(skipped) for line in lines), lines
    assert sum(line.startswith("leaf") and ": changed: " in line for line in lines) == 4, lines
    assert len(lines) == 10, lines
