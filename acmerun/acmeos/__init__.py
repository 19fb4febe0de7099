"""AcmeOS: the device client (``AcmeOSAPI``) and its errors; the simulator is ``acmerun.lab``."""

from acmerun.acmeos.client import AcmeOSAPI, InstallReport, Resources, VersionInfo, check_version
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
