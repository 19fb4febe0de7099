"""The terminal recap printed at the end of every run, in the spirit of Ansible's PLAY RECAP.

    RECAP: Upgrade earth to AcmeOS 5.4.1 (CHECK MODE) ******************************
    edge00.earth  : ok=0 changed=0 failed=0 unreachable=1 skipped=0
    edge01.earth  : ok=2 changed=1 failed=0 unreachable=0 skipped=0

    FAILURES ************************************************************************
    edge00.earth | pre-check resources | cannot connect to 127.0.0.1:40001

    TOTALS **************************************************************************
    hosts: 2 ok=0 changed=1 failed=0 unreachable=1 skipped=0 interrupted=0
    wall time: 12.3s

A host's counts are its steps in Ansible's terms (``report.steps``: ``ok``
includes changed steps, an ignored failure is ``ignored``); TOTALS counts hosts
by status. The ``rescued`` and ``ignored`` columns (and ``interrupted``) are
there only in a run that has some, so that a host line of the lab's widest
names (``spine03.mercury``) fits 80 columns; a host that never ran a step says
why on the line below it. Lines are never wrapped by acmerun, so ``grep`` and cron mail see
one line per host whatever the terminal width. Host names and every text a
task or device gave are masked first, then shown with their control
characters escaped (``\\x1b``, ``\\n``): nothing a device sends can redraw the
terminal or forge a line of the recap. Host and step names are never masked.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from rich.console import Console
from rich.text import Text

from acmerun.outcome import STATUSES, RunOutcome, Status
from acmerun.report.steps import (
    COLUMNS,
    host_counts,
    host_failures,
    host_leaves,
    not_checked,
    skip_reason,
)
from acmerun.rollout import GATE_FAILED
from acmerun.secrets import Redactor, printable

#: ``all`` prints a line for every host; ``problems`` only for hosts not ok or changed
HostsShown = Literal["all", "problems"]

#: Ansible's colors, so a glance means the same thing
STATUS_STYLE: dict[Status, str] = {
    Status.OK: "green",
    Status.CHANGED: "yellow",
    Status.FAILED: "red",
    Status.UNREACHABLE: "bold red",
    Status.SKIPPED: "cyan",
    Status.INTERRUPTED: "magenta",
    Status.RESCUED: "blue",
}

#: the colors of a host line's columns
COLUMN_STYLE: dict[str, str] = {
    **{s.value: style for s, style in STATUS_STYLE.items()},
    "ignored": "cyan",
}

#: the columns a host line has only in a run where some host counts one (and ``interrupted``)
OPTIONAL = ("rescued", "ignored")

_RULE_WIDTH = 80
_NAME_WIDTH_MAX = 40


class Recap:
    """Prints the recap of a run to a terminal (or any rich ``Console``)."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        no_color: bool = False,
        hosts: HostsShown = "all",
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.console = console or Console(
            no_color=no_color, color_system=None if no_color else "auto", highlight=False
        )
        self.color = not no_color
        self.hosts: HostsShown = hosts
        self.redactor = Redactor(secrets)

    def write(self, outcome: RunOutcome) -> None:
        """Print the recap of ``outcome``: hosts, failures, totals."""
        width = min(self.console.width, _RULE_WIDTH)
        lines = recap_lines(
            outcome, hosts=self.hosts, color=self.color, width=width, redactor=self.redactor
        )
        self.console.print(Text("\n").join(lines), soft_wrap=True, highlight=False, markup=False)


def render_recap(
    outcome: RunOutcome,
    *,
    hosts: HostsShown = "all",
    width: int = _RULE_WIDTH,
    secrets: Iterable[str | None] = (),
) -> str:
    """The recap of ``outcome`` as plain text, exactly as a terminal without color shows it."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    Recap(console, no_color=True, hosts=hosts, secrets=secrets).write(outcome)
    return buffer.getvalue()


def format_duration(seconds: float) -> str:
    """``12.3s``, ``4m05s``, ``2h01m40s``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s"


def recap_lines(
    outcome: RunOutcome,
    *,
    hosts: HostsShown = "all",
    color: bool = True,
    width: int = _RULE_WIDTH,
    redactor: Redactor | None = None,
) -> list[Text]:
    """The recap, one ``Text`` per printed line."""
    redactor = redactor or Redactor()

    def styled(text: str, style: str = "") -> Text:
        return Text(text, style=style if color else "", no_wrap=True)

    def rule(title: str) -> Text:
        head = f"{title} "
        return styled(head + "*" * max(3, width - len(head)), "bold")

    counts = {name: host_counts(h) for name, h in outcome.hosts.items()}
    columns = recap_columns(outcome, counts)
    digits = {k: max((len(str(c[k])) for c in counts.values()), default=1) for k in columns}

    title = f"RECAP: {printable(redactor.text(outcome.name))}"
    if outcome.check:
        title += " (CHECK MODE)"
    lines = [rule(title)]

    names = sorted(outcome.hosts)
    shown = names
    if hosts == "problems":
        shown = [n for n in names if outcome.hosts[n].status not in (Status.OK, Status.CHANGED)]
    shown_as = {n: printable(n) for n in shown}
    name_width = min(max((len(n) for n in shown_as.values()), default=0), _NAME_WIDTH_MAX)
    for name in shown:
        host = outcome.hosts[name]
        line = Text(no_wrap=True)
        line.append_text(styled(shown_as[name].ljust(name_width), STATUS_STYLE[host.status]))
        line.append(" :")
        c = counts[name]
        for column in columns:
            n = c[column]
            cell = f"{column}={n}".ljust(len(column) + 1 + digits[column])
            line.append(" ")
            line.append_text(styled(cell, COLUMN_STYLE[column] if n else ""))
        line.rstrip()
        lines.append(line)
        if host.status in (Status.SKIPPED, Status.INTERRUPTED) and not c[host.status.value]:
            reason = printable(_first_line(redactor.text(host.error or "")))
            note = f"    {host.status.value}" + (f": {reason}" if reason else "")
            lines.append(styled(note, STATUS_STYLE[host.status]))
    hidden = len(names) - len(shown)
    if hidden:
        noun = "host" if hidden == 1 else "hosts"
        lines.append(styled(f"({hidden} {noun} ok or changed not shown)", "dim"))

    failures = [(n, *f) for n in names for f in host_failures(outcome.hosts[n])]
    if failures:
        lines.append(Text())
        lines.append(rule("FAILURES"))
        for host_name, path, status, error in failures:
            first, *rest = redactor.text(error).splitlines() or [""]
            name = printable(host_name)
            where = f"{name} | {printable(path)}" if path else name
            line = styled(where, STATUS_STYLE[status])
            line.append(f" | {printable(first)}")
            lines.append(line)
            lines.extend(styled(f"    {printable(more)}") for more in rest)

    skipped = _skipped_steps(outcome)
    if skipped:
        lines.append(Text())
        lines.append(rule("SKIPPED"))
        for (path, reason), n in skipped.items():
            noun = "host" if n == 1 else "hosts"
            entry = styled(printable(path), STATUS_STYLE[Status.SKIPPED])
            entry.append(f" | {printable(_first_line(redactor.text(reason)))} | {n} {noun}")
            lines.append(entry)
    unchecked = not_checked(outcome) if outcome.check else {}
    if unchecked:
        lines.append(Text())
        lines.append(rule("NOT RUN IN CHECK MODE"))
        for path, n in unchecked.items():
            noun = "host" if n == 1 else "hosts"
            lines.append(styled(f"{printable(path)} ({n} {noun}): does not support check mode"))

    rollout = _rollout_lines(outcome, redactor)
    if rollout:
        lines.append(Text())
        lines.append(rule("ROLLOUT"))
        lines.extend(styled(line, style) for line, style in rollout)

    totals = outcome.totals()
    lines.append(Text())
    lines.append(rule("TOTALS"))
    total_line = styled(f"hosts: {len(outcome.hosts)}")
    for status in STATUSES:
        n = totals[status.value]
        total_line.append(" ")
        total_line.append_text(styled(f"{status.value}={n}", STATUS_STYLE[status] if n else ""))
    lines.append(total_line)
    wall = max(0.0, (outcome.ended - outcome.started).total_seconds())
    lines.append(styled(f"wall time: {format_duration(wall)}"))
    if outcome.login_rate and outcome.login_rate.get("held"):
        lines.append(styled(login_rate_line(outcome.login_rate)))
    if outcome.interrupted:
        unfinished = totals[Status.INTERRUPTED.value]
        lines.append(styled(f"run interrupted: {unfinished} hosts did not finish", "bold magenta"))
    return lines


def recap_columns(outcome: RunOutcome, counts: Mapping[str, Counter[str]]) -> tuple[str, ...]:
    """The count columns of the host lines: ``OPTIONAL`` ones only when some host has one."""
    shown = [c for c in COLUMNS if c not in OPTIONAL or any(n[c] for n in counts.values())]
    if outcome.interrupted or any(
        outcome.hosts[n].status is Status.INTERRUPTED or c["interrupted"] for n, c in counts.items()
    ):
        shown.append("interrupted")
    return tuple(shown)


def login_rate_line(figures: Mapping[str, Any]) -> str:
    """``login rate 50/s: 950 of 1000 logins waited 18.4 s in all``."""
    return (
        f"login rate {figures.get('connect_rate', 0):g}/s: {figures.get('held', 0):g} of "
        f"{figures.get('logins', 0):g} logins waited {figures.get('waited_seconds', 0.0):.1f} s "
        "in all"
    )


def _rollout_lines(outcome: RunOutcome, redactor: Redactor) -> list[tuple[str, str]]:
    """The batches that ran, and the batch and gate that stopped the rollout (if one did)."""
    batches = outcome.batches
    if len(batches) < 2 and not any(b.gate is not None for b in batches):
        return []
    ran = [b for b in batches if b.started is not None]
    hosts = sum(len(b.hosts) for b in ran)
    found = [
        (f"batches: {len(ran)} of {len(batches)} ran ({hosts} of {len(outcome.hosts)} hosts)", "")
    ]
    for batch in batches:
        name = f"batch {batch.index}" + (" (canary)" if batch.canary else "")
        if batch.gate == GATE_FAILED:
            message = printable(_first_line(redactor.text(batch.gate_message)))
            found.append((f"{name}: the gate failed on {message}", "bold red"))
        elif batch.stopped:
            reason = printable(_first_line(redactor.text(batch.stopped)))
            found.append((f"the rollout stopped at {name}: {reason}", "bold red"))
    return found


def _skipped_steps(outcome: RunOutcome) -> dict[tuple[str, str], int]:
    """(step path, reason) of every skipped step, with how many hosts skipped it, in run order."""
    found: dict[tuple[str, str], int] = {}
    for name in sorted(outcome.hosts):
        host = outcome.hosts[name]
        for leaf in host_leaves(host):
            if leaf.step.status is Status.SKIPPED:
                key = (leaf.path, skip_reason(leaf.step, host))
                found[key] = found.get(key, 0) + 1
    return found


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
