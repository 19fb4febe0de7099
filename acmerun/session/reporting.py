"""The reports of a run: chosen in one place, written before the recap, secrets masked.

Every reporter implements ``acmerun.report.Reporter`` (``write(outcome)``). The
files come first: a reader of the terminal that stops early (``| head``) must not
cost the reports. A report that cannot be written is one error line; the run's
exit code stays the hosts' when that says more (2, 3 and 99 win over 5).
"""

from __future__ import annotations

from typing import TextIO

from acmerun.errors import ExitCode, ReportNotWritten
from acmerun.outcome import RunOutcome
from acmerun.report import Reporter
from acmerun.secrets import Secrets
from acmerun.session.options import RunOptions
from acmerun.session.record import ReportTargets


def reporters(targets: ReportTargets, code: int, secrets: Secrets) -> list[Reporter]:
    """The reporters asked for (``--report``, ``--report-dir``, ``--junit``, ``--html``).

    ``--report-dir`` gets the JSON report and the HTML report, side by side.
    """
    chosen: list[Reporter] = []
    if targets.report is not None or targets.report_dir is not None:
        from acmerun.report.json import JsonReport

        if targets.report is not None:
            chosen.append(JsonReport(targets.report, exit_code=code, secrets=secrets))
        if targets.report_dir is not None:
            chosen.append(JsonReport(directory=targets.report_dir, exit_code=code, secrets=secrets))
    if targets.junit is not None:
        from acmerun.report.junit import JunitReport

        chosen.append(JunitReport(targets.junit, secrets=secrets))
    if targets.html is not None or targets.report_dir is not None:
        from acmerun.report.html import HtmlReport

        if targets.html is not None:
            chosen.append(HtmlReport(targets.html, exit_code=code, secrets=secrets))
        if targets.report_dir is not None:
            chosen.append(HtmlReport(directory=targets.report_dir, exit_code=code, secrets=secrets))
    return chosen


def report(
    outcome: RunOutcome,
    code: int,
    options: RunOptions,
    targets: ReportTargets,
    secrets: Secrets,
    out: TextIO,
) -> None:
    """Write every report, then the recap; ``ReportNotWritten`` if a file could not be."""
    failures: list[str] = []
    for reporter in reporters(targets, code, secrets):
        try:
            reporter.write(outcome)
        except OSError as exc:
            failures.append(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")
    clean = code in (ExitCode.OK, ExitCode.CHANGES_PENDING)
    if not (options.quiet and clean):
        recap(outcome, options, out, secrets)
    if failures:
        kept = ExitCode.BAD_OPTIONS if clean else ExitCode(code)
        raise ReportNotWritten("cannot write the report: " + "; ".join(failures), kept)


def recap(outcome: RunOutcome, options: RunOptions, out: TextIO, secrets: Secrets) -> None:
    """The terminal recap; a closed stdout (the reader went away) ends it quietly."""
    from rich.console import Console

    from acmerun.report.recap import Recap

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True

    console = _Console(file=out, no_color=options.no_color, highlight=False)
    shown = Recap(
        console,
        no_color=options.no_color,
        hosts="problems" if options.quiet else "all",
        secrets=secrets,
    )
    try:
        if options.quiet:
            print(secrets.mask(outcome.target), file=out)
        shown.write(outcome)
    except BrokenPipeError:
        pass
