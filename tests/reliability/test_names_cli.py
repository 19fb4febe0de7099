"""Names templates and expressions read, checked before the run by real ``acmerun`` processes.

A name nothing defines at its place is exit 4 with one located line (did-you-mean
included), no traceback, the file untouched; names bound inside a template, ``-e``
names and the data of a plugin that declares nothing are accepted.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acmerun.errors import BadOptions
from acmerun.extra_vars import parse_one
from acmerun.runbook.templating import compile_value
from tests.support import processes

HEAD = "name: t\nvars: {target_version: '5.4.1', limit: 80}\n"
UPGRADE = "  - task: acmeos.upgrade_os\n    args: {version: '{{ target_version }}'}\n"

REFUSED = {
    "misspelt var": (
        HEAD + "steps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ target_verison }}'}\n",
        "5:21: steps[0].args.version: 'target_verison' is not defined "
        "(did you mean 'target_version'?)",
    ),
    "register used before defined": (
        HEAD + "steps:\n  - task: acmeos.get_version\n    when: ver.os_version != '1'\n"
        "  - task: acmeos.get_version\n    register: ver\n",
        "5:11: steps[0].when: 'ver' is not defined yet: steps[1] registers it, and runs later",
    ),
    "typo in when": (
        HEAD + "steps:\n  - task: acmeos.get_version\n    when: sitee == 'earth'\n",
        "5:11: steps[0].when: 'sitee' is not defined (did you mean 'site'?)",
    ),
    "typo in assert": (
        HEAD + "steps:\n  - task: acmeos.get_cpu_ram\n    register: res\n"
        "    assert: res.cpu < limt\n",
        "6:13: steps[0].assert: 'limt' is not defined (did you mean 'limit'?)",
    ),
    "typo in group_by": (
        HEAD + "strategy: {rolling: {group_by: '{{ rackk }}'}}\nsteps:\n" + UPGRADE,
        "3:32: strategy.rolling.group_by: 'rackk' is not defined (did you mean 'rack'?)",
    ),
    "host-data typo": (
        HEAD + "steps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ sitee }}'}\n",
        "5:21: steps[0].args.version: 'sitee' is not defined (did you mean 'site'?)",
    ),
    "filter key typo": (
        HEAD + "inventory:\n  filter: {dev_typ__any: [edge]}\nsteps:\n" + UPGRADE,
        "4:12: inventory.filter: 'dev_typ' is not a data key of the hosts "
        "(did you mean 'dev_type'?)",
    ),
    "-e name not given": (
        HEAD + "steps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ window }}'}\n",
        "5:21: steps[0].args.version: 'window' is not defined",
    ),
}


def _validate(
    tmp_path: Path, text: str, *args: str
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    runbook = tmp_path / "rb.yml"
    runbook.write_text(text)
    run = processes.run_acmerun(
        "validate", str(runbook), *args, env=processes.environment(), cwd=tmp_path, timeout=60
    )
    assert "Traceback" not in run.stderr + run.stdout
    assert runbook.read_text() == text
    return runbook, run


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_name_nothing_defines_is_one_located_line(case: str, tmp_path: Path) -> None:
    text, expected = REFUSED[case]
    runbook, run = _validate(tmp_path, text)
    assert run.returncode == 4, run.stdout + run.stderr
    assert run.stdout.splitlines() == [f"{runbook}:{expected}"]
    assert run.stderr == "acmerun: error: 1 error in 1 runbook checked\n"


ACCEPTED = {
    "set and for locals, macro args": (
        HEAD + "steps:\n  - task: acmeos.upgrade_os\n    args:\n      version: >-\n"
        "        {% set v = target_version %}{% for x in [1] %}{{ v }}{{ x }}{% endfor %}"
        "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1) }}\n",
        (),
    ),
    "register of an earlier step, attributes unchecked": (
        HEAD + "steps:\n  - task: acmeos.get_cpu_ram\n    register: res\n"
        "    assert: res.cpu < limit and res.whatever.deep\n"
        "  - task: acmeos.upgrade_os\n    args: {version: '{{ res.cpu }}'}\n"
        "    when: inventory_hostname != 'x' and not check_mode and rack > 1\n",
        (),
    ),
    "-e name given": (
        HEAD + "steps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ window }}'}\n",
        ("-e", "window=5"),
    ),
    "plugin without declaration": (
        "name: t\ninventory: {plugin: SimpleInventory, filter: {sitee: x}}\n"
        "strategy: {rolling: {group_by: '{{ anything }}'}}\n"
        "steps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ sitee }}'}\n",
        (),
    ),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_names_something_defines_are_accepted(case: str, tmp_path: Path) -> None:
    text, args = ACCEPTED[case]
    _, run = _validate(tmp_path, text, *args)
    assert (run.returncode, run.stdout, run.stderr) == (0, "1 runbook valid\n", "")


def test_a_run_checks_names_before_touching_a_device_and_counts_e_names(tmp_path: Path) -> None:
    text = HEAD + "steps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ window }}'}\n"
    runbook = tmp_path / "rb.yml"
    runbook.write_text(text)
    env = processes.environment()
    refused = processes.run_acmerun(str(runbook), "--lab", env=env, cwd=tmp_path, timeout=60)
    assert refused.returncode == 4, refused.stderr
    assert refused.stderr.splitlines() == [
        f"{runbook}:5:21: steps[0].args.version: 'window' is not defined",
        "acmerun: error: runbook invalid (1 error)",
    ]
    assert refused.stdout == ""
    given = processes.run_acmerun(
        str(runbook), "--lab", "-e", "window=5", "--list-steps", env=env, cwd=tmp_path
    )
    assert given.returncode == 0, given.stderr
    assert "Traceback" not in given.stderr and "acmeos.upgrade_os" in given.stdout


# hostile -e values: data, never templates, whatever they hold
VALUES = st.one_of(
    st.sampled_from(
        [
            "{{ 9 ** 9 ** 9 }}",
            "{% for x in range(10**9) %}x{% endfor %}",
            "!!python/object/apply:os.system ['true']",
            "[" * 200 + "]" * 200,
            "9" * 5000,
            "\x00\x1b[31m\x7f",
            "{{ lipsum(10**9) }}" * 50,
            "&a [*a, *a]",
            "{a: {b: {c: {d: [1, 2, {{x}}]}}}}",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300),
)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(value=VALUES)
def test_a_hostile_e_value_is_data_or_one_clear_error(value: str) -> None:
    start = time.monotonic()
    try:
        parsed = parse_one(f"v={value}")
    except BadOptions as error:
        assert "\n" not in str(error) and str(error).startswith("-e ")
        return
    render = compile_value("{{ v }}")
    assert render is not None
    assert render(parsed) == parsed["v"]  # the value itself: never rendered as a template
    assert time.monotonic() - start < 2


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=VALUES)
def test_a_hostile_e_value_in_a_real_run_is_one_line(value: str, tmp_path: Path) -> None:
    text = HEAD + "steps:\n  - task: acmeos.upgrade_os\n    args: {version: '{{ v }}'}\n"
    runbook = tmp_path / "rb.yml"
    runbook.write_text(text)
    start = time.monotonic()
    run = processes.run_acmerun(
        str(runbook),
        "--lab",
        "-e",
        f"v={value}",
        "--list-steps",
        env=processes.environment(),
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode in (0, 5), run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert len(run.stderr.splitlines()) == (1 if run.returncode else 0), run.stderr
    assert time.monotonic() - start < 30
    assert yaml.safe_load(runbook.read_text()) == yaml.safe_load(text)
