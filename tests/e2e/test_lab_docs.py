"""The examples of docs/lab.md are what the lab prints, word for word.

Every ``$ command`` of the page's ``console`` blocks is run with bash in one
folder (``acmerun`` and ``python`` are this checkout's), and what it prints on
stdout and stderr must be the lines the page shows under it. ``echo $?`` shows
the exit code of the command before it. A block that calls a running lab
(``curl``) shows an answer whose times vary: it is left out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.processes import REPO, record

DOC = REPO / "docs" / "lab.md"


def examples(text: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` for every ``$`` line of the page's console blocks."""
    steps: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        if "$ curl " in block:
            continue
        command: str | None = None
        output: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    steps.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                assert command is not None, f"output before any command: {line!r}"
                output.append(line)
        if command is not None:
            steps.append((command, "\n".join(output)))
    return steps


def shell(tmp_path: Path) -> dict[str, str]:
    """An environment where ``acmerun`` and ``python`` are this checkout's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, run in (("acmerun", "-m acmerun"), ("python", "")):
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {run} "$@"\n')
        wrapper.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def test_the_error_examples_are_what_the_lab_prints(tmp_path: Path) -> None:
    steps = examples(DOC.read_text())
    commands = [command for command, _ in steps]
    assert any("--state link.json" in c for c in commands)
    assert "python -m acmerun.lab serve --latency-ms 20:5" in commands
    env = shell(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    last = 0
    checked = 0
    for command, expected in steps:
        if command == "echo $?":
            assert str(last) == expected, f"exit code of the command before {command!r}"
            checked += 1
            continue
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,  # every example of the lab is one that fails: it ends on its own
        )
        record(f"output of {command}", done.stdout)
        assert done.stdout.rstrip("\n") == expected, command
        last = done.returncode
        checked += 1
    assert checked == len(steps) >= 10
