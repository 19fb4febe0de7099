"""A run on a real terminal (a pty 80 columns wide) as a person sees it.

Failures are printed as they happen, above the live progress; ``-v`` prints
each step; the progress line keeps its ETA within 80 columns; the notice of
Ctrl-C is a line of its own; nothing of the progress is left above the recap.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.gate import Gate
from tests.support.terminal import PtyProcess

RUNBOOK = """\
name: terminal check
inventory: {plugin: ACMEInventory, options: {filter_sites: [earth]}}
strategy: {workers: 2}
steps:
  - name: version
    task: acmeos.get_version
    register: version
  - name: resources
    task: acmeos.get_cpu_ram
"""

#: a line of the live progress: hosts done, elapsed time and ETA
PROGRESS = re.compile(r"\d+/\d+ hosts \d+:\d\d:\d\d ETA (\d+:\d\d:\d\d|-:--:--)")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[processes.LabProcess]:
    lab = processes.start_lab("--dead", "edge00.earth", "--latency-ms", "40", leaves=8)
    try:
        yield lab
    finally:
        processes.stop([lab])


def _start(tmp_path: Path, lab_url: str, *options: str) -> PtyProcess:
    runbook = tmp_path / "check.yml"
    runbook.write_text(RUNBOOK, encoding="utf-8")
    env = processes.environment(lab_url)
    return PtyProcess(str(runbook), *options, env=env, cwd=tmp_path, columns=80)


def _frames(output: str) -> list[str]:
    """Every line the progress drew, as drawn (escape codes left out)."""
    plain = re.sub(r"\x1b\[[?0-9;]*[A-Za-z]", "", output)
    return [
        line for chunk in re.split(r"[\r\n]", plain) for line in [chunk] if PROGRESS.search(line)
    ]


def test_failures_appear_above_the_progress_and_before_the_recap(
    fleet: processes.LabProcess, tmp_path: Path
) -> None:
    run = _start(tmp_path, fleet.url, "-v")
    first_frame = run.wait_for(" ETA ")
    failure = run.wait_for("unreachable: edge00.earth | version")
    code = run.wait()
    assert code == 3, run.output
    recap_at = run.output.index("RECAP: terminal check")
    # the progress was drawn before the failure, and again below it, before the recap
    assert first_frame < failure < run.output.index(" ETA ", failure) < recap_at

    screen = run.screen()
    recap = screen.index(next(line for line in screen if line.startswith("RECAP: ")))
    failure_line = next(line for line in screen if line.startswith("unreachable: edge00.earth"))
    assert screen.index(failure_line) < recap
    assert re.fullmatch(r"unreachable: edge00\.earth \| version \(\d+\.\ds\) \| .+", failure_line)
    # -v: every step of every host, with its duration, before the recap
    steps = [line for line in screen[:recap] if re.match(r"ok: leaf\d+\.earth \| ", line)]
    assert len(steps) == 16, screen
    assert all(re.search(r" \| (version|resources) \(\d+\.\ds\)$", line) for line in steps)
    # the progress was drawn within 80 columns with its ETA; none of it is left on screen
    frames = _frames(run.output)
    assert frames and all(len(line) <= 80 for line in frames), frames
    assert not any(" ETA " in line or "in flight:" in line for line in screen), screen
    assert all(len(line) <= 80 for line in screen[:recap]), screen
    assert "Traceback" not in run.output


def test_ctrl_c_notice_is_a_line_of_its_own(fleet: processes.LabProcess, tmp_path: Path) -> None:
    run = _start(tmp_path, fleet.url)
    run.wait_for(" ETA ")
    run.send_signal(signal.SIGINT)
    code = run.wait()
    assert code == 99, run.output
    notice = (
        "acmerun: SIGINT: stopping: no new host starts; hosts in flight finish their step "
        "(send it again to stop waiting for them)"
    )
    screen = run.screen()
    # the notice is longer than the terminal is wide: it wraps, whole, on lines of its own
    starts = [i for i, line in enumerate(screen) if line.startswith("acmerun: SIGINT")]
    assert len(starts) == 1, screen
    shown = screen[starts[0]] + screen[starts[0] + 1]
    assert shown == notice, screen
    assert not any(" ETA " in line or "in flight:" in line for line in screen), screen
    assert any(line.startswith("run interrupted: ") for line in screen), screen
    assert "Traceback" not in run.output


LIVE_RUNBOOK = """\
name: live steps
inventory: {plugin: ACMEInventory, options: {filter_sites: [earth]}}
strategy: {workers: 2}
steps:
  - name: version
    task: acmeos.get_version
  - name: "held \\e[2J[red]at[/red]\\nthe gate"
    task: tests.support.gate:wait_at_gate
    args: {address: "ADDRESS"}
  - name: echo
    task: tests.reliability.leaky_tasks:echo_password
    args: {fail: false}
"""


def test_with_v_each_step_is_printed_as_it_ends_before_its_host_is_done(
    fleet: processes.LabProcess, tmp_path: Path
) -> None:
    with Gate() as gate:
        runbook = tmp_path / "live.yml"
        runbook.write_text(LIVE_RUNBOOK.replace("ADDRESS", gate.address), encoding="utf-8")
        env = processes.environment(fleet.url)
        run = PtyProcess(
            str(runbook), "-vv", "--limit", "leaf0*", env=env, cwd=tmp_path, columns=80
        )
        # both hosts in flight are held at the gate: their first step is printed already
        held = {arrival.host for arrival in gate.wait_for(2)}
        for host in held:
            run.wait_for(f"ok: {host} | version (")
        assert "RECAP" not in run.output and "echo" not in run.output
        gate.open()
        code = run.wait()
    assert code == 0, run.output
    screen = run.screen()
    recap = screen.index(next(line for line in screen if line.startswith("RECAP: ")))
    steps = [line for line in screen[:recap] if re.match(r"(ok|changed): leaf0\d\.earth \| ", line)]
    assert len(steps) == 24, screen  # 8 hosts, 3 steps each, one line per step
    # each line whole: status, host, path, duration; the hostile name is inert text
    gate_name = r"held \\x1b\[2J\[red\]at\[/red\]\\nthe gate"
    for line in steps:
        assert re.fullmatch(
            rf"(ok|changed): leaf0\d\.earth \| (version|{gate_name}|echo) \(\d+\.\ds\)",
            line,
        ), line
    # -vv: the results, masked; nothing of the terminal redrawn by a name
    results = [line for line in screen[:recap] if line.startswith("    result: ")]
    assert len(results) == 24, screen
    assert any('"********": 1, "quoted": "\'********\'"' in line for line in results), results
    assert "s3cr3t" not in run.output
    assert "\x1b[2J" not in run.output and "[red]" in run.output
    assert "Traceback" not in run.output
