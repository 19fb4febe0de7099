"""Errors of the AcmeOS lab.

    LabError                        any problem starting or running the lab
     ├── LabConfigError             a ``LabConfig`` value is out of range (also a ``ValueError``)
     ├── LabStateError              the state file cannot be read, parsed, locked or written
     └── LabStartError              a listener could not be bound, or start-up failed

The lab is a package of its own: these are plain exceptions. acmerun's CLI
reports the family as a bad option (one line, exit code 5) through the table
``acmerun.errors.EXIT_CODES``.
"""

from __future__ import annotations


class LabError(Exception):
    """Base class of every lab error."""


class LabConfigError(LabError, ValueError):
    """A lab option is invalid (a rate outside 0..1, a negative time, ...)."""


class LabStateError(LabError):
    """The lab's state file is unreadable, corrupt, locked too long or cannot be written."""


class LabStartError(LabError):
    """The lab could not start (an address could not be bound, ...)."""
