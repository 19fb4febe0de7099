"""Helpers of the cluster tests: ``acmerun`` as a process, runbooks, reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME

REPO = Path(__file__).resolve().parents[2]


def acmerun_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of an ``acmerun`` process pointed at the lab at ``url``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(ACME_INVENTORY_URL=url, ACMEOS_USERNAME=LAB_USERNAME, ACMEOS_PASSWORD=LAB_PASSWORD)
    env.update(extra)
    return env


def acmerun(
    *args: str, url: str, cwd: Path, timeout: float = 60, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``python -m acmerun ARGS`` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "acmerun", *args],
        env=acmerun_env(url, **extra),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_runbook(folder: Path, text: str, name: str = "runbook.yml") -> Path:
    """A runbook file in ``folder``."""
    path = folder / name
    path.write_text(text)
    return path


def report_hosts(path: Path) -> dict[str, Any]:
    """What a user compares between two reports: each host's status, changes and steps."""
    import json

    hosts = json.loads(path.read_text())["hosts"]

    def steps(items: list[dict[str, Any]]) -> list[Any]:
        return [(s["name"], s["status"], s["changed"], steps(s["steps"])) for s in items]

    return {
        name: (h["status"], h["changed"], h["error"], steps(h["steps"]))
        for name, h in hosts.items()
    }
