"""The terminal recap, asserted as the user reads it."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timezone

from rich.console import Console

from acmerun.outcome import HostOutcome, RunOutcome, Status, StepOutcome
from acmerun.report.recap import Recap, render_recap

EXPECTED = """\
RECAP: Upgrade earth to AcmeOS 5.4.1 *******************************************
edge00.earth  : ok=0 changed=0 failed=0 unreachable=1 skipped=0
edge01.earth  : ok=0 changed=0 failed=0 unreachable=0 skipped=0
    skipped: group earth-edge-r0 halted after edge00.earth was unreachable
leaf001.earth : ok=3 changed=0 failed=0 unreachable=0 skipped=1
leaf002.earth : ok=1 changed=0 failed=1 unreachable=0 skipped=0
spine01.earth : ok=3 changed=1 failed=0 unreachable=0 skipped=0

FAILURES ***********************************************************************
edge00.earth | pre-check | cannot connect to 127.0.0.1:40001
leaf002.earth | upgrade | install of 5.4.1 failed: disk full
    free: 0 MiB

SKIPPED ************************************************************************
post-checks > reboot | when false: reboot_needed | 1 host

TOTALS *************************************************************************
hosts: 5 ok=1 changed=1 failed=1 unreachable=1 skipped=1 interrupted=0
wall time: 1m16s
"""


def test_recap_of_a_mixed_run(outcome: RunOutcome) -> None:
    assert render_recap(outcome) == EXPECTED


def test_check_mode_is_in_the_header(outcome: RunOutcome) -> None:
    first = render_recap(replace(outcome, check=True)).splitlines()[0]
    assert first.startswith("RECAP: Upgrade earth to AcmeOS 5.4.1 (CHECK MODE) ***")
    assert len(first) == 80


def test_problems_mode_hides_ok_and_changed_hosts(outcome: RunOutcome) -> None:
    text = render_recap(outcome, hosts="problems")
    host_lines = [line.split(" :")[0].strip() for line in text.splitlines() if " : ok=" in line]
    assert host_lines == ["edge00.earth", "edge01.earth", "leaf002.earth"]
    assert "(2 hosts ok or changed not shown)" in text
    assert "hosts: 5 ok=1 changed=1" in text


def test_no_ansi_codes_without_color(outcome: RunOutcome) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    Recap(console, no_color=True).write(outcome)
    assert "\x1b[" not in buffer.getvalue()
    assert "leaf002.earth : ok=1 changed=0 failed=1" in buffer.getvalue()


def test_color_on_a_terminal(outcome: RunOutcome) -> None:
    buffer = io.StringIO()
    Recap(Console(file=buffer, force_terminal=True, width=120)).write(outcome)
    assert "\x1b[31mleaf002.earth\x1b[0m" in buffer.getvalue()


def test_lines_are_never_wrapped_on_a_narrow_terminal(outcome: RunOutcome) -> None:
    long_name = "a-very-long-device-name-that-goes-on.rack42.datacenter.earth"
    outcome.hosts[long_name] = HostOutcome(long_name, Status.OK)
    text = render_recap(outcome, width=30)
    counts = "ok=0 changed=0 failed=0 unreachable=0 skipped=0"
    assert f"{long_name} : {counts}\n" in text
    assert "\nedge00.earth" in text


def test_interrupted_column_when_the_run_was_interrupted(outcome: RunOutcome) -> None:
    outcome.hosts["edge01.earth"] = HostOutcome("edge01.earth", Status.INTERRUPTED)
    text = render_recap(replace(outcome, interrupted=True))
    counts = "ok=0 changed=0 failed=0 unreachable=0 skipped=0 interrupted=0"
    assert f"edge01.earth  : {counts}\n" in text
    assert "run interrupted: 1 hosts did not finish" in text


def test_secrets_never_printed(outcome: RunOutcome) -> None:
    outcome.hosts["leaf002.earth"].steps[1].error = "login netops/hunter2 refused"
    text = render_recap(outcome, secrets={"hunter2"})
    assert "hunter2" not in text
    assert "login netops/******** refused" in text


def test_ok_counts_changed_steps_and_ignored_failures_are_not_failures(
    outcome: RunOutcome,
) -> None:
    outcome.hosts["leaf002.earth"].steps.insert(
        1, StepOutcome("clean up", "t", Status.FAILED, failed=True, error="no image (ignored)")
    )
    outcome.hosts["spine01.earth"].steps.append(
        StepOutcome(
            "optional",
            "",
            Status.FAILED,
            failed=True,
            error="probe: refused (ignored)",
            steps=[StepOutcome("probe", "t", Status.FAILED, failed=True, error="refused")],
        )
    )
    text = render_recap(outcome)
    assert "leaf002.earth : ok=1 changed=0 failed=1 unreachable=0 skipped=0 ignored=1\n" in text
    assert "spine01.earth : ok=3 changed=1 failed=0 unreachable=0 skipped=0 ignored=1\n" in text
    assert "clean up" not in text and "probe" not in text  # not listed under FAILURES


def test_a_rescued_step_counts_once_and_its_failure_does_not(outcome: RunOutcome) -> None:
    outcome.hosts["spine01.earth"].steps.append(
        StepOutcome(
            "upgrade or roll back",
            "",
            Status.RESCUED,
            steps=[
                StepOutcome("install", "t", Status.FAILED, failed=True, error="no space left"),
                StepOutcome("roll back", "t", Status.CHANGED, changed=True),
            ],
        )
    )
    text = render_recap(outcome)
    assert "spine01.earth : ok=4 changed=2 failed=0 unreachable=0 skipped=0 rescued=1\n" in text
    assert "no space left" not in text


def _widest_lab_run(*extra: StepOutcome) -> str:
    """A recap of the lab fleet's widest names (15 characters) with two-digit counts."""
    names = ["spine03.mercury", "leaf098.neptune", "edge01.jupyter"]
    steps = [
        *(StepOutcome(f"c{i}", "t", Status.CHANGED, changed=True) for i in range(12)),
        *(StepOutcome(f"f{i}", "t", Status.FAILED, failed=True, error="x") for i in range(10)),
        *(StepOutcome(f"s{i}", "t", Status.SKIPPED, error="when false: no") for i in range(10)),
        *(StepOutcome(f"u{i}", "t", Status.UNREACHABLE, error="down") for i in range(10)),
    ]
    hosts = {n: HostOutcome(n, Status.FAILED, [*steps, *extra]) for n in names}
    hosts["leaf99.saturn"] = HostOutcome("leaf99.saturn", Status.SKIPPED, error="not started: x")
    now = datetime.now(timezone.utc)
    return render_recap(RunOutcome("r.yml", "Upgrade", False, now, now, hosts))


def test_host_lines_of_the_widest_lab_names_fit_80_columns() -> None:
    rescued = StepOutcome(
        "r", "", Status.RESCUED, steps=[StepOutcome("a", "t", Status.FAILED, failed=True)]
    )
    ignored = StepOutcome("i", "t", Status.FAILED, failed=True, error="e (ignored)")
    for extra, column in (((), None), ((rescued,), "rescued=1"), ((ignored,), "ignored=1")):
        text = _widest_lab_run(*extra)
        lines = [line for line in text.splitlines() if " : ok=" in line]
        assert len(lines) == 4, text
        assert max(len(line) for line in lines) <= 80, text
        assert "leaf098.neptune : ok=12 changed=12 failed=10 unreachable=10 skipped=10" in text
        # the columns stay aligned: each label starts at the same place on every line
        for label in ("changed=", "failed=", "unreachable=", "skipped="):
            assert len({line.index(label) for line in lines}) == 1, (label, text)
        if column is not None:
            assert all(column.split("=")[0] + "=" in line for line in lines), text
        assert "rescued=" not in text or column == "rescued=1"
        assert "ignored=" not in text or column == "ignored=1"
        assert "\nleaf99.saturn   : ok=0 " in text
        assert "\n    skipped: not started: x\n" in text
