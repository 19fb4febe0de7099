"""docs/runs.md's "Plan and apply" examples, run as the page gives them, on the embedded lab."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.support.processes import REPO, environment, run_acmerun


def section() -> str:
    text = (REPO / "docs" / "runs.md").read_text(encoding="utf-8")
    found = re.search(r"^## Plan and apply\n(.*?)^## ", text, re.DOTALL | re.MULTILINE)
    assert found is not None, "docs/runs.md has no Plan and apply section"
    return found.group(1)


def blocks(kind: str) -> list[str]:
    found = re.findall(r"^```(\w*)\n(.*?)^```$", section(), re.DOTALL | re.MULTILINE)
    return [body for lang, body in found if lang == kind]


#: what each line of the page's terminal example stands for
_SHAPES = [
    r"target: embedded AcmeOS lab \(simulated devices on loopback; state in .*\)",
    r"plan \d{8}T\d{6}Z-[0-9a-f]{8} of /\S+/runbooks/upgrade-earth\.yml: "
    r"Upgrade earth to AcmeOS 5\.4\.1",
    r"\d+ hosts? to change, \d+ hosts? with nothing to change",
    r"  \d+ hosts?: upgrade: \d+\.\d+\.\d+ -> 5\.4\.1",
    r"    \([a-z0-9.]+(, [a-z0-9.]+)*( and \d+ more)?\)",
    r"plan written to upgrade\.plan\.json; apply it with: acmerun apply upgrade\.plan\.json",
]


def shape(line: str) -> int:
    matching = [i for i, pattern in enumerate(_SHAPES) if re.fullmatch(pattern, line)]
    assert matching, f"a line of no documented shape: {line!r}"
    return matching[0]


def test_the_plan_and_apply_examples_run_as_documented(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    shutil.copy(REPO / "runbooks" / "upgrade-earth.yml", tmp_path / "runbooks")
    (commands,) = blocks("sh")
    (example,) = blocks("")
    # the page's example output has every documented shape, in order
    assert [shape(line) for line in example.splitlines()] == [0, 1, 2, 3, 4, 3, 4, 5]
    plan_words, apply_words = (shlex.split(c) for c in commands.strip().splitlines())
    assert plan_words[:2] == ["acmerun", "plan"] and apply_words[:2] == ["acmerun", "apply"]
    env = environment()
    planned = run_acmerun(
        *plan_words[1:], env=env, cwd=tmp_path, timeout=300, stdin=subprocess.DEVNULL
    )
    assert planned.returncode == 6, planned.stdout + planned.stderr
    assert planned.stderr == ""
    shapes = [shape(line) for line in planned.stdout.splitlines()]
    assert shapes[:3] == [0, 1, 2] and shapes[-1] == 5, planned.stdout
    assert set(shapes[3:-1]) == {3, 4}, planned.stdout
    plan = json.loads((tmp_path / "upgrade.plan.json").read_text())
    applied = run_acmerun(
        *apply_words[1:], env=env, cwd=tmp_path, timeout=300, stdin=subprocess.DEVNULL
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Traceback" not in applied.stderr
    pending = [n for n, h in plan["hosts"].items() if h["status"] == "changed"]
    assert pending
    assert f"hosts: {len(pending)} ok=0 changed={len(pending)} failed=0" in applied.stdout
