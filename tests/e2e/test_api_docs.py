"""The curl walk-through in docs/acmeos-api.md, run with curl against a lab.

Every ``$ command`` of the ``console`` blocks is run in one bash session (so
variables carry over), and its output is compared with the lines the page
shows under it: JSON answers must have the same shape and the same values,
except the fields that differ from lab to lab (tokens, ports, cpu, times).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from acmerun.lab import Lab, LabConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "acmeos-api.md"
#: the inventory URL the page uses, replaced with the test lab's
DOC_URL = "http://127.0.0.1:8080"
#: answer fields whose values differ from lab to lab
VARYING = {"token", "port", "cpu", "ram_used", "at"}
MARK = "@@@ command done @@@"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def walkthrough(text: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` for every ``$`` line of the page's console blocks."""
    steps: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            assert lines[i].startswith("$ "), f"not a command: {lines[i]!r}"
            command = lines[i][2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + lines[i].strip()
            i += 1
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            steps.append((command, "\n".join(output)))
    return steps


def same_shape(expected: Any, actual: Any, key: str = "") -> bool:
    if key in VARYING:
        return type(expected) is type(actual)
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(same_shape(expected[k], actual[k], k) for k in expected)
        )
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return False
        if all(isinstance(item, float) for item in expected):  # times: any number will do
            return all(isinstance(item, (int, float)) for item in actual)
        return all(same_shape(e, a) for e, a in zip(expected, actual, strict=True))
    return bool(expected == actual)


def test_the_page_has_a_walkthrough_covering_every_call() -> None:
    commands = " ".join(command for command, _ in walkthrough(DOC.read_text()))
    for path in (
        "/api/v1/inventory/hosts",
        "/api/v1/session",
        "/api/v1/version",
        "/api/v1/resources",
        "/api/v1/install",
        "/api/v1/interfaces",
        "/api/v1/neighbors",
        "/api/v1/reboot",
        "/lab/downtime",
        "/lab/devices",
        "/lab/installs",
    ):
        assert path in commands


def test_every_curl_command_of_the_page_answers_as_shown() -> None:
    steps = walkthrough(DOC.read_text())
    script = "".join(f"{command}\necho; echo '{MARK}'\n" for command, _ in steps)
    with Lab(LabConfig(sites=3, reboot_seconds=1.0)) as lab:
        done = subprocess.run(
            ["bash", "-c", script.replace(DOC_URL, lab.url)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    outputs = done.stdout.split(MARK + "\n")
    assert len(outputs) == len(steps) + 1, done.stderr
    for (command, expected), actual in zip(steps, outputs[:-1], strict=True):
        actual = actual.strip()
        if expected.strip().startswith(("{", "[")):
            assert same_shape(json.loads(expected), json.loads(actual)), (
                f"{command}\nshown:  {expected}\nactual: {actual}"
            )
        else:
            assert actual == expected.strip(), f"{command}\nshown:  {expected}\nactual: {actual}"
