"""The HTML report's tables: the summary, the failures, and every host with its steps.

Every string goes through ``Text`` (masked by the run's secrets, then escaped),
so a host name or an error holding markup renders as text. With more than
``PAGE`` hosts the host table is cut into collapsed pages (``<details>``) of
``PAGE`` hosts each; a host's steps are always collapsed under its row.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime

from acmerun.outcome import FAILURES, STATUSES, HostOutcome, RunOutcome, Status, StepOutcome
from acmerun.report.atomic import as_utc
from acmerun.report.html_timeline import clock
from acmerun.secrets import Redactor

#: hosts per page of the host table
PAGE = 500

#: how the error of an ``ignore_errors`` step ends
IGNORED = "(ignored)"

#: what an exit code means, as docs/cli.md says
_EXIT_MEANING = {
    0: "every host ok or changed",
    2: "a host failed",
    3: "a host was unreachable",
    6: "changes pending",
    99: "interrupted",
}


class Text:
    """Masks and escapes text for the page."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(self, value: object) -> str:
        """``value`` as text, every secret masked, escaped for HTML (attributes included)."""
        return html.escape(self.redactor.text(str(value)), quote=True)


def summary(outcome: RunOutcome, exit_code: int, version: str, t: Text) -> str:
    """The run at a glance: what, where, how it ended, and the hosts per status."""
    duration = max(0.0, (outcome.ended - outcome.started).total_seconds())
    meaning = _EXIT_MEANING.get(exit_code, "")
    rows = [
        ("runbook", f"{t(outcome.name)} <code>{t(outcome.runbook)}</code>"),
        ("target", t(outcome.target.removeprefix("target: "))),
        ("mode", "check (nothing changed)" if outcome.check else "run"),
        (
            "exit code",
            f'<span id="exit-code">{exit_code}</span>' + (f" ({meaning})" if meaning else ""),
        ),
        ("started", t(_utc(outcome.started))),
        ("ended", t(_utc(outcome.ended))),
        ("duration", clock(duration)[1:] + (" (interrupted)" if outcome.interrupted else "")),
        ("acmerun", t(version)),
    ]
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    totals = outcome.totals()
    boxes = "".join(
        f'<div class="total {s}"><span class="count" data-status="{s}">{totals[s]}</span> {s}</div>'
        for s in (status.value for status in STATUSES)
    )
    hosts = len(outcome.hosts)
    return (
        f'<section id="summary"><dl>{items}</dl><div class="totals">'
        f'<div class="total hosts"><span class="count" data-status="hosts">{hosts}</span> '
        f"hosts</div>{boxes}</div></section>"
    )


def failures(outcome: RunOutcome, t: Text) -> str:
    """Every failed or unreachable step: host, step path, error."""
    found = outcome.failures()
    if not found:
        return '<section id="failures"><h2>Failures</h2><p class="none">none</p></section>'
    ignored = sum(1 for _, _, error in found if error.endswith(IGNORED))
    rows = "".join(
        f'<tr class="failure{" ignored" if error.endswith(IGNORED) else ""}" '
        f'data-host="{t(host)}"><td class="host">{t(host)}</td>'
        f'<td class="step">{t(path) or "&mdash;"}</td><td class="error">{t(error)}</td></tr>'
        for host, path, error in found
    )
    counted = f"{len(found) - ignored}" + (f", {ignored} ignored" if ignored else "")
    return (
        f'<section id="failures"><h2>Failures ({counted})</h2><table>'
        f"<thead><tr><th>host</th><th>step</th><th>error</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def hosts(outcome: RunOutcome, t: Text) -> str:
    """Every host: a row with its status, group, times and error; its steps below, collapsed."""
    names = sorted(outcome.hosts)
    if not names:
        return '<section id="hosts"><h2>Hosts</h2><p class="none">no host selected</p></section>'
    if len(names) <= PAGE:
        body = _page(outcome, names, t)
    else:
        pages = []
        for first in range(0, len(names), PAGE):
            chunk = names[first : first + PAGE]
            problems = sum(1 for n in chunk if outcome.hosts[n].status in FAILURES)
            note = f", {problems} failed or unreachable" if problems else ""
            pages.append(
                f'<details class="page"{" open" if first == 0 else ""}><summary>hosts '
                f"{first + 1}&ndash;{first + len(chunk)}: {t(chunk[0])} &hellip; "
                f"{t(chunk[-1])}{note}</summary>{_page(outcome, chunk, t)}</details>"
            )
        body = "".join(pages)
    return f'<section id="hosts"><h2>Hosts ({len(names)})</h2>{body}</section>'


def _page(outcome: RunOutcome, names: Iterable[str], t: Text) -> str:
    return '<div class="hostlist">' + "".join(_host(outcome.hosts[n], t) for n in names) + "</div>"


def _host(host: HostOutcome, t: Text) -> str:
    # compact markup (a page of 10,000 hosts stays a few MB): <b> name, <i> status,
    # <u> group, <small> duration, <q> error; styled by the page's CSS
    status = host.status.value
    where = f"<u>{t(host.group)}</u>" if host.group else ""
    error = f"<q>{t(host.error)}</q>" if host.error else ""
    line = f"<b>{t(host.name)}</b><i>{status}</i>{where}<small>{host.duration:.1f} s</small>{error}"
    if not host.steps:
        return f'<div class="host {status}" data-host="{t(host.name)}">{line}</div>'
    return (
        f'<details class="host {status}" data-host="{t(host.name)}"><summary>{line}</summary>'
        f"{_steps(host.steps, t)}</details>"
    )


def _steps(steps: list[StepOutcome], t: Text) -> str:
    return "<ol>" + "".join(_step(s, t) for s in steps) + "</ol>"


def _step(step: StepOutcome, t: Text) -> str:
    # <b> name, <code> task, <i> status (and "ignored"), <small> duration and notes, <q> error
    status = step.status.value
    ignored = step.status is Status.FAILED and (step.error or "").endswith(IGNORED)
    badges = f"<i>{status}</i>" + ('<i class="ignored">ignored</i>' if ignored else "")
    notes = f"{step.duration:.2f} s"
    if step.attempts > 1:
        notes += f", {step.attempts} attempts"
    if step.down is not None:
        notes += f", down {step.down.seconds:.1f} s"
    task = f"<code>{t(step.task)}</code>" if step.task else ""
    error = f"<q>{t(step.error)}</q>" if step.error else ""
    nested = _steps(step.steps, t) if step.steps else ""
    return (
        f'<li class="{status}{" ignored" if ignored else ""}"><b>{t(step.name)}</b>{task}'
        f"{badges}<small>{notes}</small>{error}{nested}</li>"
    )


def _utc(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")
