"""Broken runbooks: every error of each file, word for word, with its line and column."""

# ruff: noqa: E501  (error lines are compared whole)

from __future__ import annotations

import os
from pathlib import Path

import pytest

from acmerun.errors import ExitCode, RunbookInvalid
from acmerun.runbook import load_runbook, validate_paths

BROKEN_DIR = Path(__file__).parents[2] / "data" / "broken"

# file name -> the error lines after "tests/data/broken/<file>:"
BROKEN: dict[str, list[str]] = {
    "bad-args.yml": [
        "6:7: steps[0].args: 'name' is reserved by nornir's task.run: it cannot be a task argument",
        "7:7: steps[0].args: 'severity_level' is reserved by nornir's task.run: it cannot be a task argument",
        "10:30: steps[1].args: unknown key 'reboot'",
        "11:5: steps[2]: task 'acmeos.upgrade_os' needs the argument 'version'",
        "15:11: steps[3].args: task 'tests.unit.runbook.tasks_for_tests:change' needs the argument 'what'",
        "15:12: steps[3].args: task 'tests.unit.runbook.tasks_for_tests:change' takes no argument 'waht' (did you mean 'what'?)",
        "18:12: steps[4].args: 'task' is reserved by nornir's task.run: it cannot be a task argument",
    ],
    "control-char.yml": [
        "1:12: YAML syntax error: unacceptable character #x0007: special characters are not allowed",
    ],
    "duplicate-keys.yml": [
        "2:1: <root>: duplicate key 'name' (first on line 1)",
        "6:5: steps[0]: duplicate key 'task' (first on line 5)",
    ],
    "empty.yml": [
        "1:1: <root>: the file is empty: a runbook needs 'name' and 'steps'",
    ],
    "expressions.yml": [
        "5:11: steps[0].when: an expression is written without '{{ }}', e.g. res.cpu < 80",
        "10:9: steps[1].assert[0]: expression syntax error: unexpected end of expression",
        "11:9: steps[1].assert[1]: expression syntax error: unexpected 80 after the expression",
        "12:9: steps[1].assert[2]: '__class__' starts with '_': templates may not reach for internal names or attributes",
    ],
    "filter.yml": [
        "3:11: inventory.plugin: '' should be non-empty",
        "4:12: inventory.options: ['filter_sites', 'earth'] is not of type 'object'",
        "7:9: inventory.filter.or: [] should be non-empty",
        "8:10: inventory.filter.not: ['site'] is not of type 'object'",
        "10:10: inventory.filter.and[0]: 'rack ge' is not a filter key: write a data key with an optional nornir operator, e.g. site, dev_type__any, rack__ge",
    ],
    "missing-required.yml": [
        "1:1: <root>: 'name' is a required property",
        "1:1: <root>: 'steps' is a required property",
        "3:11: inventory.filter: {} should be non-empty",
        "6:5: strategy.rolling: 'group_by' is a required property",
    ],
    "not-a-mapping.yml": [
        "1:1: <root>: a runbook is a mapping of keys (name, steps, ...), not a list",
    ],
    "not-utf8.yml": [
        "1:10: not UTF-8 text (byte 0xe9)",
    ],
    "python-tag.yml": [
        "3:9: vars.evil: YAML tag '!!python/object/apply:os.system' is not allowed: a runbook holds plain data (mappings, lists, strings, numbers, booleans)",
        "4:9: vars.when: YAML tag '!!binary' is not allowed: a runbook holds plain data (mappings, lists, strings, numbers, booleans)",
    ],
    "register.yml": [
        "4:15: steps[0].register: 'running-version' is not a valid name: use letters, digits and '_', not starting with a digit",
        "6:15: steps[1].register: 'inventory_hostname' is a reserved name in templates: register under another name",
        "8:15: steps[2].register: 'range' is a reserved name in templates: register under another name",
        "10:15: steps[3].register: '1st' is not a valid name: use letters, digits and '_', not starting with a digit",
    ],
    "serial.yml": [
        "3:11: strategy.serial: True is not a batch size: use a number of hosts (5), a percentage ('25%') or a list of them",
    ],
    "steps-empty.yml": [
        "2:8: steps: [] should be non-empty",
    ],
    "strategy.yml": [
        "3:12: strategy.workers: 0 is less than the smallest allowed, 1",
        "4:24: strategy.max_fail_percentage: 150 is more than the largest allowed, 100",
        "5:15: strategy.serial[1]: '10' is not a batch size: use a number of hosts (5) or a percentage ('25%')",
        "5:21: strategy.serial[2]: '150%' is not a batch size: use a number of hosts (5) or a percentage ('25%')",
        "5:29: strategy.serial[3]: 0 is not a batch size: use a number of hosts (5) or a percentage ('25%')",
        "8:15: strategy.rolling.max_down: 0 is less than the smallest allowed, 1",
        "9:17: strategy.rolling.on_failure: 'stop' is not one of 'halt_group', 'halt_all', 'continue'",
    ],
    "syntax.yml": [
        "5:4: YAML syntax error: expected <block end>, but found '<block mapping start>' (while parsing a block collection at line 3, column 3)",
    ],
    "task-or-steps.yml": [
        "3:5: steps[0]: a step needs 'task' (a task to run), 'steps' (nested steps) "
        "or 'include' (a file of steps)",
        "5:5: steps[1]: a step has one of 'task', 'steps' or 'include', not task and steps",
        "11:5: steps[2]: 'args' needs a 'task': a step with nested 'steps' has no args",
        "12:12: steps[2].steps: [] should be non-empty",
    ],
    "templates.yml": [
        "4:15: strategy.rolling.group_by: template syntax error: unexpected '}'",
        "9:16: steps[0].args.version: template syntax error: unexpected end of template, expected 'end of print statement'.",
        "14:11: steps[1].args.value[0]: '__class__' starts with '_': templates may not reach for internal names or attributes",
        "14:11: steps[1].args.value[0]: '__mro__' starts with '_': templates may not reach for internal names or attributes",
        "15:11: steps[1].args.value[1]: '_secret' starts with '_': templates may not reach for internal names or attributes",
        "19:14: steps[2].args.value: template syntax error: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
    ],
    "unclosed.yml": [
        "3:1: YAML syntax error: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence at line 2, column 8)",
    ],
    "unknown-keys.yml": [
        "2:1: <root>: unknown key 'descripton' (did you mean 'description'?)",
        "4:3: inventory: unknown key 'plugn' (did you mean 'plugin'?)",
        "6:3: strategy: unknown key 'worker' (did you mean 'workers'?)",
        "9:5: strategy.rolling: unknown key 'max_dwn' (did you mean 'max_down'?)",
        "13:5: steps[0]: unknown key 'whn' (did you mean 'when'?)",
        "14:5: steps[0]: unknown key 'regster' (did you mean 'register'?)",
        "18:7: steps[1].args: unknown key 'versoin' (did you mean 'version'?)",
    ],
    "unknown-task.yml": [
        "3:11: steps[0].task: unknown task 'acmeos.get_versoin' (did you mean 'acmeos.get_version'?)",
        "4:11: steps[1].task: unknown task 'acmeos.factory_reset' (built-in tasks: acmeos.get_version, acmeos.get_cpu_ram, acmeos.get_interfaces, acmeos.get_neighbors, acmeos.install_os_version, acmeos.upgrade_os, acmeos.reboot)",
        "5:11: steps[2].task: unknown task 'mylib.does_not_exist' (a task is acmeos.NAME, package.module:function or a task library's name)",
        "6:11: steps[3].task: cannot import 'no_such_package.tasks' for task 'no_such_package.tasks:upgrade': ModuleNotFoundError: No module named 'no_such_package'",
        "7:11: steps[4].task: module 'tests.unit.runbook.tasks_for_tests' has no task 'ehco' (did you mean 'echo'?)",
        "8:11: steps[5].task: 'tests.unit.runbook.tasks_for_tests:NOT_A_TASK' is not a function",
        "9:11: steps[6].task: 'acmeos get version' is not a task name: use acmeos.NAME, package.module:function or a task library's name",
    ],
    "wrong-types.yml": [
        "1:7: name: 42 is not of type 'string'",
        "2:14: description: ['not', 'text'] is not of type 'string'",
        "3:7: vars: ['a', 'b'] is not of type 'object'",
        "8:16: steps[0].args.version: 5 is not of type 'string'",
        "9:14: steps[0].retries: 'two' is not of type 'integer'",
        "10:12: steps[0].delay: -1 is less than the smallest allowed, 0",
        "11:14: steps[0].backoff: 0.5 is less than the smallest allowed, 1",
        "12:14: steps[0].timeout: 0 is too small: it must be more than 0",
        "13:20: steps[0].ignore_errors: 'yes' is not of type 'boolean'",
        "14:11: steps[0].tags: 'upgrade' is not of type 'array'",
        "17:11: steps[1].when: 1 is not of type 'string', 'boolean'",
        "18:30: steps[1].assert[1]: 5 is not of type 'string'",
    ],
}


def test_every_broken_runbook_is_covered() -> None:
    assert sorted(p.name for p in BROKEN_DIR.iterdir()) == sorted(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_runbook_reports_every_error_with_its_place(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BROKEN_DIR.parents[2])
    path = os.path.join("tests", "data", "broken", name)
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook(path)
    assert raised.value.errors == [f"{path}:{line}" for line in BROKEN[name]]
    assert raised.value.exit_code == ExitCode.RUNBOOK_INVALID
    assert str(raised.value) == "\n".join(raised.value.errors)


def test_validate_folder_checks_every_file_and_reports_all_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(BROKEN_DIR.parents[2])
    folder = os.path.join("tests", "data", "broken")
    checked, errors = validate_paths([folder])
    assert checked == [os.path.join(folder, n) for n in sorted(BROKEN)]
    expected = [f"{folder}/{n}:{line}" for n in sorted(BROKEN) for line in BROKEN[n]]
    assert errors == expected
