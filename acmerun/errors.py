"""The errors acmerun reports to its user, and the exit code of each.

Every expected failure is one of these; the CLI (the one error boundary)
prints its message on one line and exits with its code. Anything else is a
bug: it is logged with its traceback and the exit code is 250.

    AcmerunError                    exit 250 unless a subclass says otherwise
     ├── RunbookInvalid             4  the runbook (or a file it names) is not valid
     ├── BadOptions                 5  the command line, -e values, config or environment
     │    └── ReportNotWritten     5  (or the hosts' 2, 3, 99) a report could not be written
     ├── RunbookLocked              7  another run holds the runbook's lock
     └── Interrupted               99  SIGINT / SIGTERM

Exit codes of a run that completed (see ``ExitCode``): 0 every host ok,
2 a host failed, 3 a host unreachable (none failed), 6 ``--check
--detailed-exitcode`` found changes to make.

Errors raised outside this tree (the nornir plugins', the lab's) are mapped to
exit codes in one table, ``EXIT_CODES``, read by the CLI's error boundary.
Device errors (``acmerun.acmeos.errors``) never reach the boundary: tasks
turn them into failed results, and reporters read those.
"""

from __future__ import annotations

import enum
import sys


class ExitCode(enum.IntEnum):
    """Documented exit codes; Ansible's where Ansible has one, so wrappers keep working."""

    OK = 0
    HOST_FAILED = 2
    HOST_UNREACHABLE = 3
    RUNBOOK_INVALID = 4
    BAD_OPTIONS = 5
    CHANGES_PENDING = 6
    LOCKED = 7
    REFUSED = 8
    INTERRUPTED = 99
    UNEXPECTED = 250


class AcmerunError(Exception):
    """An expected error: its message is shown to the user as is, on its own."""

    exit_code: ExitCode = ExitCode.UNEXPECTED


class RunbookInvalid(AcmerunError):
    """A runbook failed validation; ``errors`` holds every ``FILE:LINE:COL: PATH: message``."""

    exit_code = ExitCode.RUNBOOK_INVALID

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class BadOptions(AcmerunError):
    """Bad command-line options, extra vars, configuration or environment."""

    exit_code = ExitCode.BAD_OPTIONS


class ReportNotWritten(BadOptions):
    """A report could not be written after the run; the exit code stays the hosts' when
    they failed (2, 3, 99), else 5."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class RunbookLocked(AcmerunError):
    """Another acmerun process is running the same runbook."""

    exit_code = ExitCode.LOCKED


class Refused(AcmerunError):
    """A plan or a run to resume no longer matches what it was made from (the runbook,
    the options, its age), so none of it is run."""

    exit_code = ExitCode.REFUSED


class Interrupted(AcmerunError):
    """The run was stopped by SIGINT or SIGTERM."""

    exit_code = ExitCode.INTERRUPTED


#: the exception families raised outside this tree that the CLI reports as expected
#: errors (one line, no crash log), and their exit codes: the one table beside
#: ``AcmerunError.exit_code``. Families are named ``module:Class`` so that this module
#: imports nothing; an exception can only be raised once its module is loaded, so a family
#: whose module is not loaded never matches. The first family that matches wins.
EXIT_CODES: tuple[tuple[str, ExitCode], ...] = (
    ("acmerun.plugins.inventory.acme:InventoryError", ExitCode.BAD_OPTIONS),
    ("acmerun.plugins.runners.strategy:RunnerOptionsError", ExitCode.BAD_OPTIONS),
    ("acmerun.lab.errors:LabError", ExitCode.BAD_OPTIONS),
)


def exit_code_of(error: BaseException) -> ExitCode | None:
    """The documented exit code of an expected error; None for anything else (a bug).

    ``AcmerunError`` says its own; other families are looked up in ``EXIT_CODES``.
    """
    if isinstance(error, AcmerunError):
        return error.exit_code
    for family, code in EXIT_CODES:
        module_name, _, class_name = family.partition(":")
        module = sys.modules.get(module_name)
        kind = getattr(module, class_name, None) if module is not None else None
        if isinstance(kind, type) and isinstance(error, kind):
            return code
    return None
