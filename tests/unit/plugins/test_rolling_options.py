"""RollingRunner options: Ansible's ``serial`` batches, and the messages for bad options."""

from __future__ import annotations

from typing import Any

import pytest
from nornir.core.inventory import Defaults, Group, Host, ParentGroups

from acmerun.plugins.runners.rolling import RollingRunner
from acmerun.plugins.runners.strategy import (
    RunnerOptionsError,
    group_namer,
    parse_serial,
    serial_batches,
)


def sizes(serial: Any, total: int) -> list[int]:
    return [len(batch) for batch in serial_batches(parse_serial(serial), total)]


@pytest.mark.parametrize(
    ("serial", "total", "expected"),
    [
        (None, 5, [5]),
        (2, 5, [2, 2, 1]),
        ("2", 5, [2, 2, 1]),
        (10, 3, [3]),
        ("30%", 10, [3, 3, 3, 1]),
        ("25%", 10, [2, 2, 2, 2, 2]),
        ("1%", 10, [1] * 10),
        ("100%", 7, [7]),
        ([1, 3, "50%"], 10, [1, 3, 5, 1]),
        ([1, 2], 6, [1, 2, 2, 1]),
        (3, 0, []),
        (None, 0, []),
    ],
)
def test_serial_batches_follow_ansible(serial: Any, total: int, expected: list[int]) -> None:
    assert sizes(serial, total) == expected


def test_batches_cover_every_host_once_in_order() -> None:
    batches = serial_batches(parse_serial([1, "10%", 7]), 106)
    assert [i for batch in batches for i in batch] == list(range(106))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"serial": 0}, "rolling serial 0 is not a host count or a percentage like '30%'"),
        ({"serial": "0%"}, "rolling serial '0%' is not a host count or a percentage like '30%'"),
        (
            {"serial": "150%"},
            "rolling serial '150%' is not a host count or a percentage like '30%'",
        ),
        (
            {"serial": "half"},
            "rolling serial 'half' is not a host count or a percentage like '30%'",
        ),
        (
            {"serial": [1, True]},
            "rolling serial True is not a host count or a percentage like '30%'",
        ),
        ({"serial": []}, "rolling serial must not be an empty list"),
        ({"max_down": 0}, "rolling max_down must be a whole number >= 1, not 0"),
        ({"num_workers": "8"}, "rolling num_workers must be a whole number >= 1, not '8'"),
        (
            {"on_failure": "stop"},
            "rolling on_failure must be one of halt_group, halt_all, continue, not 'stop'",
        ),
        (
            {"max_fail_percentage": 120},
            "rolling max_fail_percentage must be a number from 0 to 100, not 120",
        ),
        (
            {"group_by": "{{ site "},
            "rolling group_by '{{ site ' is not a valid template: unexpected end of template,"
            " expected 'end of print statement'.",
        ),
        ({"group_by": 3}, "rolling group_by must be a template or a callable, not 3"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(RunnerOptionsError) as err:
        RollingRunner(**options)
    assert str(err.value) == message


def test_the_defaults_are_one_host_per_group_and_halt_group() -> None:
    runner = RollingRunner()
    assert (runner.num_workers, runner.max_down, runner.on_failure) == (50, 1, "halt_group")
    assert runner.group_by is None and runner.serial is None
    assert runner.max_fail_percentage is None
    assert not runner.stopped
    assert (runner.hosts_in_flight(), runner.groups_in_flight()) == (0, 0)


def test_group_by_templates_see_host_data_inherited_data_and_the_host_itself() -> None:
    defaults = Defaults(data={"site": "earth"})
    rack = Group("rack100", data={"rack": 100}, defaults=defaults)
    host = Host(
        name="leaf00.earth",
        hostname="127.3.0.7",
        platform="acmeos",
        groups=ParentGroups([rack]),
        data={"dev_type": "leaf"},
        defaults=defaults,
    )
    cases = {
        "{{ site }}-{{ dev_type }}-{{ rack }}": "earth-leaf-100",
        "{{ inventory_hostname }}/{{ name }}": "leaf00.earth/leaf00.earth",
        "{{ platform }}@{{ hostname }}": "acmeos@127.3.0.7",
        "{{ pod | default('no-pod') }}-{{ rack // 10 }}": "no-pod-10",
    }
    assert {t: group_namer(t)(host) for t in cases} == cases


def test_a_function_names_groups_with_whatever_it_returns() -> None:
    host = Host(name="spine01.mars", data={"rack": 21})
    assert group_namer(lambda h: h["rack"])(host) == "21"
    assert group_namer(None)(host) == "spine01.mars"
