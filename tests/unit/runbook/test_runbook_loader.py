"""Loading runbooks: the typed model, the schema, files and folders."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from acmerun.errors import RunbookInvalid
from acmerun.runbook import (
    SCHEMA_URL,
    InventorySpec,
    Rolling,
    Strategy,
    load_runbook,
    load_runbook_text,
    schema,
    validate_paths,
)

ROOT = Path(__file__).parents[3]
RUNBOOKS = ROOT / "runbooks"


def test_schema_is_valid_2020_12_with_its_id() -> None:
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["$id"] == SCHEMA_URL


def test_schema_is_a_copy_callers_cannot_spoil() -> None:
    schema()["properties"].clear()
    assert "steps" in schema()["properties"]


@pytest.mark.parametrize("path", sorted(RUNBOOKS.glob("*.yml")), ids=lambda p: p.name)
def test_shipped_runbooks_validate_and_point_editors_at_the_schema(path: Path) -> None:
    assert path.read_text().startswith("# yaml-language-server: $schema=")
    runbook = load_runbook(path)
    assert runbook.path == str(path)
    assert runbook.steps


def test_upgrade_earth_as_a_typed_model() -> None:
    rb = load_runbook(RUNBOOKS / "upgrade-earth.yml")
    assert rb.name == "Upgrade earth to AcmeOS 5.4.1"
    assert rb.inventory == InventorySpec(
        plugin="ACMEInventory",
        options={"filter_sites": ["earth"]},
        filter={"dev_type__any": ["edge", "spine", "leaf"]},
    )
    assert rb.vars == {"target_version": "5.4.1", "max_cpu": 90}
    assert rb.strategy == Strategy(
        max_fail_percentage=10.0,
        rolling=Rolling(group_by="{{ site }}-{{ dev_type }}-{{ rack }}", max_down=1),
    )
    pre, upgrade, post = rb.steps
    assert (pre.task, pre.register) == ("acmeos.get_cpu_ram", "res")
    assert pre.asserts == ("res.cpu < max_cpu", "res.ram_used < res.ram_total")
    assert upgrade.args == {"version": "{{ target_version }}"}
    assert (upgrade.retries, upgrade.delay, upgrade.timeout) == (2, 1.0, 900.0)
    assert post.task is None and post.label == "steps"
    assert [s.name for s in post.steps] == ["running version"]
    assert post.steps[0].location == f"{RUNBOOKS / 'upgrade-earth.yml'}:38:9"


def test_defaults_of_a_minimal_runbook() -> None:
    text = "name: m\nsteps:\n  - task: acmeos.get_version\n    assert: ver.x\n    register: ver\n"
    rb = load_runbook_text(text, "m.yml")
    assert rb.description == ""
    assert rb.inventory == InventorySpec()
    assert rb.vars == {}
    assert rb.strategy == Strategy()
    (step,) = rb.steps
    assert step.name == "acmeos.get_version"
    assert step.asserts == ("ver.x",)
    assert (step.retries, step.delay, step.backoff, step.timeout) == (0, 0.0, 1.0, None)
    assert (step.ignore_errors, step.tags, step.when) == (False, (), None)
    assert step.location == "m.yml:3:5"


def test_serial_alone_becomes_a_one_batch_tuple() -> None:
    text = "name: s\nstrategy: {serial: '25%'}\nsteps: [{task: acmeos.get_version}]\n"
    assert load_runbook_text(text, "s.yml").strategy.serial == ("25%",)


def test_yaml_anchors_and_merge_keys_are_plain_yaml() -> None:
    text = (
        "name: anchors\n"
        "steps:\n"
        "  - &check {task: acmeos.get_cpu_ram, retries: 2, register: res}\n"
        "  - <<: *check\n"
        "    register: again\n"
    )
    _, second = load_runbook_text(text, "a.yml").steps
    assert (second.task, second.retries, second.register) == ("acmeos.get_cpu_ram", 2, "again")


def test_errors_are_sorted_by_position() -> None:
    text = "steps:\n  - task: acmeos.nope\n    whn: x\nname: 5\n"
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook_text(text, "x.yml")
    assert raised.value.errors == [
        "x.yml:2:11: steps[0].task: unknown task 'acmeos.nope'"
        " (built-in tasks: acmeos.get_version, acmeos.get_cpu_ram, acmeos.get_interfaces,"
        " acmeos.get_neighbors, acmeos.install_os_version, acmeos.upgrade_os, acmeos.reboot)",
        "x.yml:3:5: steps[0]: unknown key 'whn' (did you mean 'when'?)",
        "x.yml:4:7: name: 5 is not of type 'string'",
    ]


def test_long_values_are_shortened_in_messages() -> None:
    text = "name: x\nsteps: {" + ", ".join(f"k{i}: {i}" for i in range(30)) + "}\n"
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook_text(text, "x.yml")
    (error,) = raised.value.errors
    short = "{'k0': 0, 'k1': 1, 'k2': 2, 'k3': 3, 'k4': 4, 'k5': 5, 'k..."
    assert error == f"x.yml:2:8: steps: {short} is not of type 'array'"


def test_a_missing_file_is_an_error_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook(missing)
    assert raised.value.errors == [f"{missing}: cannot read the file: No such file or directory"]
    checked, errors = validate_paths([str(missing)])
    assert (checked, errors) == ([str(missing)], raised.value.errors)


def test_validate_paths_walks_folders_for_yml_and_yaml(tmp_path: Path) -> None:
    good = "name: g\nsteps: [{task: acmeos.get_version}]\n"
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yml").write_text(good)
    (tmp_path / "sub" / "b.yaml").write_text("name: b\n")
    (tmp_path / "notes.txt").write_text("not a runbook")
    checked, errors = validate_paths([str(tmp_path)])
    assert checked == [str(tmp_path / "a.yml"), str(tmp_path / "sub" / "b.yaml")]
    assert errors == [f"{tmp_path / 'sub' / 'b.yaml'}:1:1: <root>: 'steps' is a required property"]


def test_errors_in_a_step_that_merges_an_anchor_point_at_the_step_itself() -> None:
    text = (
        "name: t\nsteps:\n  - &base\n    task: acmeos.upgrade_os\n"
        "    args: {version: '5.4.1'}\n  - <<: *base\n    args: {version: 5}\n"
    )
    with pytest.raises(RunbookInvalid) as raised:
        load_runbook_text(text, "m.yml")
    assert raised.value.errors == ["m.yml:7:21: steps[1].args.version: 5 is not of type 'string'"]
