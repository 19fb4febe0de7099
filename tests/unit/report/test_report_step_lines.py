"""-v lines as each step ends, from a compiled runbook run by nornir: each step once, masked."""

from __future__ import annotations

import io
import re

from rich.console import Console

from acmerun.plugins.processors.progress import ProgressRecorder
from acmerun.report.progress import HostLines
from acmerun.results import decode
from acmerun.runbook import load_runbook_text
from acmerun.runbook.compiler import compile_runbook
from tests.unit.runbook.test_runbook_compiler import PASSWORD, T, make_nornir

BODY = f"""\
name: steps as they end
vars: {{n: 5}}
steps:
  - {{name: first, task: '{T}:echo', args: {{value: 1}}}}
  - name: upgrade
    steps:
      - {{name: install, task: '{T}:change', args: {{what: os}}}}
      - {{name: verify, task: '{T}:echo', args: {{value: 4}}, register: v, assert: v.result == n}}
    rescue:
      - {{name: roll back, task: '{T}:change', args: {{what: back}}}}
  - name: ports
    task: '{T}:echo'
    args: {{value: "{{{{ item }}}}"}}
    loop: [a, b]
  - name: quiet
    no_log: true
    steps:
      - {{name: inner, task: '{T}:echo', args: {{value: not-for-the-log}}}}
      - {{name: boom, task: '{T}:fail', args: {{message: "login {PASSWORD}"}}}}
    ignore_errors: true
  - name: "[red]evil\\e[2J"
    task: '{T}:fail'
    args: {{message: "bad\\nsecond line {PASSWORD}"}}
  - {{name: never, task: '{T}:echo', args: {{value: 2}}}}
"""


def test_each_innermost_step_is_printed_once_as_it_ends_masked_and_inert() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, color_system=None)
    lines = HostLines(console, verbosity=2, secrets=[PASSWORD], color=False)
    printed_at_host_done: list[str] = []

    def host_done(host: object) -> None:
        before = buffer.getvalue()
        lines(host)  # type: ignore[arg-type]
        printed_at_host_done.append(buffer.getvalue()[len(before) :])

    recorder = ProgressRecorder(total=1, on_host_done=host_done, on_step=lines.step)
    compiled = compile_runbook(load_runbook_text(BODY, "rb.yml"))
    nr = make_nornir(("h1",)).with_processors([recorder])
    results = nr.run(task=compiled.host_task, name=compiled.runbook.name)
    outcome = decode(["h1"], results)["h1"]

    shown = [line for line in buffer.getvalue().splitlines() if not line.startswith("    ")]
    paths = [re.sub(r" \(\d+\.\ds\).*", "", line) for line in shown]
    assert paths == [
        "ok: h1 | first",
        "changed: h1 | upgrade > install",
        "failed: h1 | upgrade > verify",
        "changed: h1 | upgrade > rescue > roll back",
        "ok: h1 | ports > ports [0] a",
        "ok: h1 | ports > ports [1] b",
        "ok: h1 | quiet > inner",
        "ignored: h1 | quiet > boom",
        "failed: h1 | [red]evil\\x1b[2J",
        "skipped: h1 | never",
    ]
    # every step was printed as it ended: nothing was left for the host's end
    assert printed_at_host_done == [""]
    # the same lines as the host's own -v lines at its end, but in the order the steps ended
    whole = io.StringIO()
    HostLines(
        Console(file=whole, width=80, color_system=None),
        verbosity=2,
        secrets=[PASSWORD],
        color=False,
    )(outcome)
    assert sorted(whole.getvalue().splitlines()) == sorted(
        line.replace("failed: h1 | upgrade > verify", "rescued: h1 | upgrade > verify")
        for line in buffer.getvalue().splitlines()
    )
    text = buffer.getvalue()
    assert PASSWORD not in text and "\x1b" not in text
    assert "| RuntimeError: bad second line ********\n" in text
    # the no_log step's inner result and error: hidden, though no secret is in them
    assert '    result: "********"' in text and "not-for-the-log" not in text


def test_lines_of_many_hosts_in_threads_never_interleave() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    lines = HostLines(console, verbosity=1, color=False)
    names = tuple(f"host{i:03d}" for i in range(40))
    recorder = ProgressRecorder(total=len(names), on_host_done=lines, on_step=lines.step)
    body = "name: many\nsteps:\n" + "".join(
        f"  - {{name: 'step {i} {'x' * 60}', task: '{T}:echo', args: {{value: {i}}}}}\n"
        for i in range(5)
    )
    compiled = compile_runbook(load_runbook_text(body, "rb.yml"))
    nr = make_nornir(names).with_processors([recorder])
    nr.run(task=compiled.host_task, name="many")
    got = buffer.getvalue().splitlines()
    assert len(got) == 5 * len(names)
    pattern = r"ok: host\d{3} \| step \d x{60} \(\d+\.\ds\)"
    assert all(re.fullmatch(pattern, line) for line in got), got
