"""Helpers of the cluster tests: runbooks, ``acmerun`` runs against a lab, reports to compare."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support import processes

AUDIT = """\
name: audit
inventory:
  plugin: ACMEInventory
steps:
  - name: version
    task: acmeos.get_version
  - name: cpu and ram
    task: acmeos.get_cpu_ram
  - name: version again
    task: acmeos.get_version
"""


def acmerun(
    *args: str, url: str, cwd: Path, timeout: float = 60, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``python -m acmerun ARGS`` against the lab at ``url``, to its end (output scanned)."""
    return processes.run_acmerun(
        *args, env=processes.environment(url, **extra), cwd=cwd, timeout=timeout
    )


def write_runbook(folder: Path, text: str, name: str = "runbook.yml") -> Path:
    """A runbook file in ``folder``."""
    path = folder / name
    path.write_text(text)
    return path


def report_hosts(path: Path) -> dict[str, Any]:
    """What a user compares between two reports: each host's status, changes and steps."""
    hosts = json.loads(path.read_text())["hosts"]

    def steps(items: list[dict[str, Any]]) -> list[Any]:
        return [(s["name"], s["status"], s["changed"], steps(s["steps"])) for s in items]

    return {
        name: (h["status"], h["changed"], h["error"], steps(h["steps"]))
        for name, h in hosts.items()
    }
