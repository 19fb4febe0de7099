"""AcmeOS: the device client (``AcmeOSAPI``) and its errors; the simulator is ``acmerun.lab``.

The names below are imported on first use, so that importing ``acmerun.acmeos.defaults``
(the protocol's constants) does not import the client and urllib3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acmerun.acmeos.answers import (
        InstallReport,
        Interface,
        Neighbor,
        RebootReport,
        Resources,
        VersionInfo,
    )
    from acmerun.acmeos.client import AcmeOSAPI, check_version
    from acmerun.acmeos.errors import (
        COMMUNICATION_PROBLEM,
        AcmeOSError,
        AnswerTooLarge,
        AuthenticationError,
        BadAddress,
        CommandError,
        ConnectionFailure,
        ConnectTimeout,
        InstallFailed,
        InvalidVersion,
        ReadTimeout,
        RebootTimeout,
        VersionMismatch,
    )

_CLIENT = ("AcmeOSAPI", "check_version")
_ANSWERS = ("InstallReport", "Interface", "Neighbor", "RebootReport", "Resources", "VersionInfo")

__all__ = [
    "COMMUNICATION_PROBLEM",
    "AcmeOSAPI",
    "AcmeOSError",
    "AnswerTooLarge",
    "AuthenticationError",
    "BadAddress",
    "CommandError",
    "ConnectTimeout",
    "ConnectionFailure",
    "InstallFailed",
    "InstallReport",
    "Interface",
    "InvalidVersion",
    "Neighbor",
    "ReadTimeout",
    "RebootReport",
    "RebootTimeout",
    "Resources",
    "VersionInfo",
    "VersionMismatch",
    "check_version",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _CLIENT:
        module = "acmerun.acmeos.client"
    elif name in _ANSWERS:
        module = "acmerun.acmeos.answers"
    else:
        module = "acmerun.acmeos.errors"
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
