"""Errors of the AcmeOS lab.

    LabError                        any problem starting or running the lab
     ├── LabConfigError             a ``LabConfig`` value is out of range (also a ``ValueError``)
     ├── LabStateError              the state file cannot be read, parsed or written
     └── LabStartError              a listener could not be bound, or start-up failed

Every lab error is also an ``acmerun.errors.BadOptions``: the CLI prints its
message on one line and exits with code 5.
"""

from __future__ import annotations

from acmerun.errors import BadOptions


class LabError(BadOptions):
    """Base class of every lab error."""


class LabConfigError(LabError, ValueError):
    """A lab option is invalid (a rate outside 0..1, a negative time, ...)."""


class LabStateError(LabError):
    """The lab's state file is unreadable, corrupt or cannot be written."""


class LabStartError(LabError):
    """The lab could not start (an address could not be bound, ...)."""
