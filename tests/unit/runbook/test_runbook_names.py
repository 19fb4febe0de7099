"""Which names a template may read at each place of a runbook (in-process, fast)."""

from __future__ import annotations

import pytest

from acmerun.errors import RunbookInvalid
from acmerun.runbook.loader import load_runbook_text

GET = "task: acmeos.get_version"


def _errors(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    try:
        load_runbook_text(text, "rb.yml", extra)
    except RunbookInvalid as invalid:
        return invalid.errors
    return []


def test_a_nested_register_counts_in_its_group_assert_and_after_the_group() -> None:
    text = (
        "name: t\nsteps:\n  - steps:\n      - {" + GET + ", register: inner}\n"
        "    assert: inner.os_version\n  - {" + GET + ", when: inner.os_version != ''}\n"
    )
    assert _errors(text) == []


def test_a_step_reads_its_own_register_in_its_assert_not_in_its_when() -> None:
    text = f"name: t\nsteps:\n  - {{{GET}, register: v, assert: v.x, when: v.y}}\n"
    assert _errors(text) == [
        "rb.yml:3:64: steps[0].when: 'v' is not defined yet: steps[0] registers it, and runs later"
    ]


@pytest.mark.parametrize(
    ("value", "extra"),
    [
        ("'{{ w }}'", ("w",)),
        ("'{% for i in range(2) %}{{ loop.index }}{{ i }}{% endfor %}'", ()),
        ("'{{ inventory_hostname }}{{ dev_type }}{{ rack }}'", ()),
        ("'{{ d.x.y[0] }}'", ()),
    ],
)
def test_defined_names_pass(value: str, extra: tuple[str, ...]) -> None:
    head = "name: t\nvars: {d: {}}\nsteps:\n  - task: acmeos.upgrade_os\n"
    text = head + f"    args: {{version: {value}}}\n"
    assert _errors(text, extra) == []


def test_each_undefined_name_of_a_value_is_its_own_line() -> None:
    text = "name: t\nsteps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ a }}{{ b }}'}\n"
    assert _errors(text) == [
        "rb.yml:4:21: steps[0].args.version: 'a' is not defined",
        "rb.yml:4:21: steps[0].args.version: 'b' is not defined",
    ]
