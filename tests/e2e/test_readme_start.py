"""The README's first command runs the main job without a terminal, on a fresh machine.

Its ``acmerun`` part (everything after the last ``&&``) is run with no terminal on
stdin, a fresh HOME and no inventory configured, as cron would run it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

from tests.support.processes import REPO, run_acmerun

README = REPO / "README.md"

#: what points acmerun at an inventory or a state folder other than HOME's
_CONFIGURING = ("ACME_INVENTORY_URL", "ACMERUN_STATE_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME")


def first_command() -> list[str]:
    """The words of the acmerun part of the README's first ``sh`` block."""
    block = re.search(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert block is not None, "README.md has no sh block"
    words = shlex.split(block.group(1).strip().split("&&")[-1])
    assert words[0] == ".venv/bin/acmerun", f"the first command does not end with acmerun: {words}"
    return words[1:]


def test_the_readme_first_command_succeeds_without_a_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _CONFIGURING}
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    args = first_command()
    run = run_acmerun(*args, env=env, cwd=REPO, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
