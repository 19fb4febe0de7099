"""Reporters: what a run did, told to a person (recap), a script (JSON) and CI (JUnit).

Every reporter reads one ``RunOutcome`` (``acmerun.outcome``) and nothing else::

    from acmerun.report.recap import Recap
    from acmerun.report.json import JsonReport
    from acmerun.report.junit import JunitReport

    for reporter in (Recap(), JsonReport("run.json", exit_code=2, secrets={password})):
        reporter.write(outcome)

The live progress display (``report.progress.LiveProgress``) is not a reporter:
it shows the run while it happens, from a ``ProgressRecorder`` processor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from acmerun.outcome import RunOutcome


class Reporter(Protocol):
    """Something that tells the outcome of a run: to a terminal, a file, a CI system."""

    def write(self, outcome: RunOutcome) -> None:
        """Report ``outcome``; called once, after the run ended (or was interrupted)."""
        ...
