"""AcmeOS: the device client (``AcmeOSAPI``) and its errors; the simulator is ``acmerun.lab``.

The names below are imported on first use, so that importing ``acmerun.acmeos.defaults``
(the protocol's constants) does not import the client and urllib3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acmerun.acmeos.client import (
        AcmeOSAPI,
        InstallReport,
        Resources,
        VersionInfo,
        check_version,
    )
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

_CLIENT = ("AcmeOSAPI", "InstallReport", "Resources", "VersionInfo", "check_version")

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
    "InvalidVersion",
    "ReadTimeout",
    "RebootTimeout",
    "Resources",
    "VersionInfo",
    "VersionMismatch",
    "check_version",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = "acmerun.acmeos.client" if name in _CLIENT else "acmerun.acmeos.errors"
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
