"""-e/--extra-vars: what a user types on the command line becomes these variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from acmerun.errors import BadOptions
from acmerun.extra_vars import parse_extra_vars


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("target_version=5.4.1", {"target_version": "5.4.1"}),
        ("max_cpu=80", {"max_cpu": 80}),
        ("ratio=0.5", {"ratio": 0.5}),
        ("dry=true", {"dry": True}),
        ("dry=False", {"dry": False}),
        ("nothing=null", {"nothing": None}),
        ("msg=hello world", {"msg": "hello world"}),
        ("expr=a=b", {"expr": "a=b"}),
        ("empty=", {"empty": ""}),
        ("quoted='42'", {"quoted": "42"}),
        ('sites=["earth", "mars"]', {"sites": ["earth", "mars"]}),
    ],
)
def test_key_value(option: str, expected: dict[str, object]) -> None:
    assert parse_extra_vars([option]) == expected


@pytest.mark.parametrize("value", ["5.10", "010", "yes", "on", "1e3", "0.50"])
def test_values_that_plain_yaml_would_mangle_stay_as_typed(value: str) -> None:
    assert parse_extra_vars([f"v={value}"]) == {"v": value}


def test_inline_json_and_later_options_win() -> None:
    assert parse_extra_vars(['{"a": 1, "b": [1, 2]}', "a=2"]) == {"a": 2, "b": [1, 2]}


def test_file_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "vars.yml").write_text("target_version: '5.4.1'\nmax_cpu: 70\n")
    (tmp_path / "vars.json").write_text('{"max_cpu": 60}')
    got = parse_extra_vars([f"@{tmp_path / 'vars.yml'}", f"@{tmp_path / 'vars.json'}"])
    assert got == {"target_version": "5.4.1", "max_cpu": 60}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("novalue", "-e 'novalue': expected KEY=VALUE, @FILE or a JSON mapping"),
        ("1st=x", "-e '1st=x': '1st' is not a variable name"),
        ("my-var=x", "-e 'my-var=x': 'my-var' is not a variable name"),
        ("x=[1, 2", "-e 'x=[1, 2': the value is not valid YAML"),
        ("{not json", "-e '{not json': not a valid JSON or YAML mapping"),
        ('{"1a": 2}', "-e '{\"1a\": 2}': has '1a', which is not a variable name"),
    ],
)
def test_bad_values_name_the_option(option: str, message: str) -> None:
    with pytest.raises(BadOptions) as caught:
        parse_extra_vars(["ok=1", option])
    assert str(caught.value).startswith(message)


def test_bad_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    with pytest.raises(BadOptions, match=r"cannot read .*missing.yml: No such file"):
        parse_extra_vars([f"@{missing}"])
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    with pytest.raises(BadOptions, match=r"list.yml holds a list, expected a mapping"):
        parse_extra_vars([f"@{tmp_path / 'list.yml'}"])
    (tmp_path / "broken.yml").write_text("a: 1\nb: [\n")
    with pytest.raises(BadOptions, match=r"broken.yml:3:1: "):
        parse_extra_vars([f"@{tmp_path / 'broken.yml'}"])
