"""include: a file of steps, validated and located in its own file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from acmerun.errors import RunbookInvalid
from acmerun.runbook import load_runbook


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_an_included_file_becomes_the_steps_of_its_step(tmp_path: Path) -> None:
    write(tmp_path / "checks" / "cpu.yml", "- name: cpu\n  task: acmeos.get_cpu_ram\n")
    main = write(
        tmp_path / "rb.yml",
        "name: r\nsteps:\n  - name: health\n    include: checks/cpu.yml\n    tags: [health]\n",
    )
    runbook = load_runbook(main)
    (health,) = runbook.steps
    assert health.label == "include checks/cpu.yml"
    assert [s.name for s in health.steps] == ["cpu"]
    assert health.steps[0].location == f"{tmp_path / 'checks' / 'cpu.yml'}:1:3"


def test_errors_in_an_included_file_are_located_in_it(tmp_path: Path) -> None:
    inner = write(
        tmp_path / "checks" / "bad.yml",
        "- name: ok\n  task: acmeos.get_version\n"
        "- name: typo\n  task: acmeos.get_versoin\n  whn: x\n",
    )
    main = write(tmp_path / "rb.yml", "name: r\nsteps:\n  - include: checks/bad.yml\n")
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook(main)
    assert raised.value.errors == [
        f"{inner}:4:9: steps[1].task: unknown task 'acmeos.get_versoin' "
        "(did you mean 'acmeos.get_version'?)",
        f"{inner}:5:3: steps[1]: unknown key 'whn' (did you mean 'when'?)",
    ]


def test_a_missing_file_is_located_at_the_include(tmp_path: Path) -> None:
    main = write(tmp_path / "rb.yml", "name: r\nsteps:\n  - include: checks/none.yml\n")
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook(main)
    missing = os.path.join(tmp_path, "checks", "none.yml")
    assert raised.value.errors == [
        f"{main}:3:14: steps[0].include: cannot read the included file {missing}: "
        "No such file or directory"
    ]


def test_include_cycles_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.yml", "- include: b.yml\n")
    write(tmp_path / "b.yml", "- name: again\n  include: a.yml\n")
    main = write(tmp_path / "rb.yml", "name: r\nsteps:\n  - include: a.yml\n")
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook(main)
    b = os.path.join(tmp_path, "b.yml")
    assert raised.value.errors == [
        f"{b}:2:12: steps[0].include: include cycle: a.yml -> b.yml -> a.yml"
    ]


def test_an_included_file_must_be_a_list_of_steps(tmp_path: Path) -> None:
    inner = write(tmp_path / "m.yml", "name: not a list\n")
    main = write(tmp_path / "rb.yml", "name: r\nsteps:\n  - include: m.yml\n")
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook(main)
    assert raised.value.errors == [
        f"{inner}:1:1: <root>: an included file is a list of steps, not a mapping"
    ]


def test_validating_a_folder_checks_the_files_of_steps_its_runbooks_include(tmp_path: Path) -> None:
    from acmerun.runbook import validate_paths

    write(tmp_path / "checks" / "ok.yml", "- task: acmeos.get_version\n")
    bad = write(tmp_path / "checks" / "bad.yml", "- task: acmeos.get_version\n  whn: x\n")
    write(tmp_path / "rb.yml", "name: r\nsteps:\n  - include: checks/ok.yml\n")
    checked, errors = validate_paths([str(tmp_path)])
    assert len(checked) == 3
    # ok.yml is included: a file of steps; bad.yml is included by no valid runbook
    assert errors == [
        f"{bad}:1:1: <root>: a runbook is a mapping of keys (name, steps, ...), not a list"
    ]
