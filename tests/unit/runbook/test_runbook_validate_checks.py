"""What ``validate`` refuses beyond the schema's types: YAML 1.1-only values, numbers, filters.

Each case is a runbook with ``^`` before the one value that must be refused: the load
fails with exactly one error, at that value's line and column, saying what to write.
"""

from __future__ import annotations

import pytest

from acmerun.errors import RunbookInvalid
from acmerun.runbook import load_runbook_text

HEAD = "name: t\n"
STEP = "steps:\n  - task: acmeos.get_version\n"


def _mark(value: str) -> str:
    return value if "^" in value else "^" + value


def _var(value: str) -> str:
    return HEAD + f"vars:\n  v: {_mark(value)}\n" + STEP


def _strategy(key: str, value: str) -> str:
    return HEAD + f"strategy:\n  {key}: {_mark(value)}\n" + STEP


def _step(key: str, value: str) -> str:
    return HEAD + f"steps:\n  - task: acmeos.get_version\n    {key}: {_mark(value)}\n"


def _arg(value: str) -> str:
    return (
        HEAD + f"steps:\n  - task: acmeos.install_os_version\n    args:\n      version: {value}\n"
    )


def _only_error(marked: str) -> str:
    """The one error of the runbook, checked to be located at the ``^``."""
    before, after = marked.split("^")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook_text(before + after, "rb.yml")
    assert len(raised.value.errors) == 1, raised.value.errors
    (error,) = raised.value.errors
    assert error.startswith(f"rb.yml:{line}:{column}: "), error
    assert "{value}" not in error
    return error


YAML_11 = [
    (_var("yes"), "yes is a boolean in YAML 1.1 but a string in YAML 1.2: write true, or 'yes'"),
    (_var("No"), "write false, or 'No' for the text"),
    (_var("ON"), "write true, or 'ON' for the text"),
    (_var("off"), "write false, or 'off' for the text"),
    (_var("y"), "write true, or 'y' for the text"),
    (_var("N"), "write false, or 'N' for the text"),
    (_step("ignore_errors", "yes"), "write true"),
    (_step("ignore_errors", "Off"), "write false"),
    (_var("1:30"), "1:30 is a base-60 number in YAML 1.1 but a string in YAML 1.2: write '1:30'"),
    (_var("-1:30:00"), "write '-1:30:00' for the text"),
    (_var("1:30.5"), "write '1:30.5' for the text"),
    (_var("0755"), "0755 is octal in YAML 1.1 but decimal in YAML 1.2: write 0o755 for octal"),
    (_var("-017"), "write -0o17 for octal, -17 for decimal, or '-017' for the text"),
    (_var("00"), "write 0o0 for octal, 0 for decimal"),
    (_step("retries", "03"), "write 0o3 for octal, 3 for decimal"),
    (_var("1_000"), "1_000 is a number in YAML 1.1 only: write 1000, or '1_000'"),
    (_var("1_0.5"), "write 10.5, or '1_0.5' for the text"),
    (_var("0b101"), "0b101 is a binary number in YAML 1.1 only: write 5 (or 0x5)"),
    (_var("1e3"), "1e3 is a number in YAML 1.2 but a string in YAML 1.1: write 1000.0"),
    (_step("backoff", "1e308"), "write 1.0e+308, or '1e308' for the text"),
    (_step("timeout", "1e400"), "1e400 is too large for a number: write a smaller one"),
    (_var("[1, ^yes]"), "yes is a boolean"),
    (_var("{a: ^0644}"), "write 0o644 for octal"),
]


@pytest.mark.parametrize(("marked", "message"), YAML_11)
def test_a_value_yaml_1_1_reads_otherwise_is_refused_with_the_spelling_to_use(
    marked: str, message: str
) -> None:
    assert message in _only_error(marked)


NUMBERS = [
    (_strategy("max_fail_percentage", ".nan"), ".nan is not a finite number: write a number"),
    (_strategy("max_fail_percentage", ".inf"), ".inf is not a finite number"),
    (_strategy("workers", "4.0"), "strategy.workers: 4.0 is not an integer: write 4"),
    (_strategy("workers", "100000"), "100000 is greater than the maximum of 10000"),
    (_strategy("serial", "2.0"), "is not a batch size"),
    (_step("retries", "2.0"), "steps[0].retries: 2.0 is not an integer: write 2"),
    (_step("retries", "1" + "0" * 400), "is greater than the maximum of 100"),
    (_step("retries", "5.0"), "is not an integer: write 5"),
    (_step("delay", ".inf"), ".inf is not a finite number"),
    (_step("delay", "-.Inf"), "-.Inf is not a finite number"),
    (_step("delay", "90000"), "90000 is greater than the maximum of 86400"),
    (_step("delay", "1" + "0" * 400), "is greater than the maximum of 86400"),
    (_step("backoff", "1.0e+308"), "1e+308 is greater than the maximum of 10"),
    (_step("backoff", ".NaN"), ".NaN is not a finite number"),
    (_step("timeout", ".inf"), ".inf is not a finite number"),
    (_step("timeout", "1" + "0" * 400), "is greater than the maximum of 86400"),
    (_step("timeout", "1.0e400"), "1.0e400 is too large for a number: write a smaller one"),
    (_var(".nan"), ".nan is not a finite number"),
    (
        HEAD + "strategy:\n  rolling:\n    group_by: x\n    max_down: ^3.0\n" + STEP,
        "3.0 is not an integer: write 3",
    ),
]


@pytest.mark.parametrize(("marked", "message"), NUMBERS)
def test_a_number_out_of_its_kind_is_refused_with_what_to_write(marked: str, message: str) -> None:
    assert message in _only_error(marked)


NAMES = [
    (_step("when", "x | nofilter"), "unknown filter 'nofilter'"),
    (_step("when", "x | uper"), "unknown filter 'uper' (did you mean 'upper'?)"),
    (_step("when", "x is defind"), "unknown test 'defind' (did you mean 'defined'?)"),
    (_step("when", "x is not nosuchtest"), "unknown test 'nosuchtest'"),
    (_step("assert", "x | lenght > 1"), "unknown filter 'lenght' (did you mean 'length'?)"),
    (
        _step("assert", "['check_mode', ^'check_mode | defualt(1)']"),
        "unknown filter 'defualt' (did you mean 'default'?)",
    ),
    (
        _arg('^"{{ v | trimm }}"'),
        "unknown filter 'trimm' (did you mean 'trim'?)",
    ),
    (
        _arg('^"{% if v is od %}1{% endif %}"'),
        "unknown test 'od' (did you mean 'odd'?)",
    ),
    (
        HEAD + "strategy:\n  rolling:\n    group_by: ^'{{ site | lowr }}'\n" + STEP,
        "unknown filter 'lowr' (did you mean 'lower'?)",
    ),
    (_step("when", "check_mode | map('uper') | list"), None),
]


@pytest.mark.parametrize(("marked", "message"), NAMES)
def test_an_unknown_filter_or_test_is_an_error_with_did_you_mean(
    marked: str, message: str | None
) -> None:
    if message is None:  # a filter named in a string is looked up at run time only
        load_runbook_text(marked.replace("^", ""), "rb.yml")
        return
    assert message in _only_error(marked)


ACCEPTED = [
    _var("true"),
    _var("'yes'"),
    _var('"on"'),
    _var("0o755"),
    _var("0x1f"),
    _var("0"),
    _var("-7"),
    _var("1.5"),
    _var("1.0e+3"),
    _var("'1:30'"),
    _var("yesterday"),
    _var("0.5"),
    _var("'0755'"),
    _strategy("workers", "4"),
    _step("delay", "0.5"),
    _step("backoff", "2"),
    _step("when", "check_mode | default(1) is number"),
]


@pytest.mark.parametrize("marked", ACCEPTED)
def test_values_every_yaml_reads_alike_are_accepted(marked: str) -> None:
    load_runbook_text(marked.replace("^", ""), "rb.yml")


def test_0o_octal_is_the_integer_it_spells() -> None:
    runbook = load_runbook_text(_var("0o755").replace("^", ""), "rb.yml")
    assert runbook.vars["v"] == 0o755


def _inventory(body: str) -> str:
    return HEAD + "inventory:\n" + body + STEP


INVENTORY = [
    (
        _inventory("  plugin: ^AcmeInventory\n"),
        "unknown inventory plugin 'AcmeInventory' (did you mean 'ACMEInventory'?)",
    ),
    (_inventory("  plugin: ^NoSuch\n"), "unknown inventory plugin 'NoSuch' (installed: "),
    (
        _inventory("  options:\n    ^filter_site: [earth]\n"),
        "ACMEInventory takes no option 'filter_site' (did you mean 'filter_sites'?)",
    ),
    (
        _inventory("  options:\n    ^colour: red\n"),
        "ACMEInventory takes no option 'colour' (its options: ",
    ),
    (
        _inventory("  options:\n    filter_sites: ^5\n"),
        "5 does not fit ACMEInventory's option 'filter_sites': give a list of strings",
    ),
    (
        _inventory("  options:\n    filter_dev_types: ^[edge, 3]\n"),
        "does not fit ACMEInventory's option 'filter_dev_types'",
    ),
    (_inventory("  options:\n    url: ^{a: 1}\n"), "does not fit ACMEInventory's option 'url'"),
    (
        _inventory("  filter:\n    ^keys: x\n"),
        "'keys' is a method of nornir's Host, not a data key",
    ),
    (_inventory("  filter:\n    ^get__any: [x]\n"), "'get' is a method of nornir's Host"),
    (_inventory("  filter:\n    not: {^items: x}\n"), "'items' is a method of nornir's Host"),
    (
        _inventory("  filter:\n    or: [{site: a}, {^has_parent_group: x}]\n"),
        "'has_parent_group' is a method",
    ),
]


@pytest.mark.parametrize(("marked", "message"), INVENTORY)
def test_the_inventory_section_is_checked_against_its_plugin_and_nornir(
    marked: str, message: str
) -> None:
    assert message in _only_error(marked)


@pytest.mark.parametrize(
    "body",
    [
        "  plugin: ACMEInventory\n  options: {filter_sites: [earth], filter_dev_types: edge}\n",
        "  options: {url: [http://a, http://b]}\n  filter: {site: earth, name__contains: x}\n",
        "  plugin: SimpleInventory\n  options: {host_file: h.yml}\n",
    ],
)
def test_an_inventory_section_its_plugin_takes_is_accepted(body: str) -> None:
    load_runbook_text(_inventory(body), "rb.yml")
