"""Errors raised by the AcmeOS client (``acmerun.acmeos.client``).

    AcmeOSError                     any problem talking to an AcmeOS device
     ├── ConnectionFailure          the device could not be reached: refused, reset,
     │    │                         closed mid-answer, connect timeout. Message is exactly
     │    │                         "problem communicating with device". Status: unreachable.
     │    ├── ConnectTimeout        no TCP connection within the connect timeout
     │    └── BadAddress            the host's address cannot be used (not an IP address or
     │                              a DNS name that resolves, a port out of range); raised
     │                              before any connection. Message: "bad device address: ..."
     ├── ReadTimeout                connected, but no answer within the read timeout, or not
     │                              all of it by the request's deadline. Failed.
     ├── AnswerTooLarge             the answer is over ``defaults.MAX_ANSWER_BYTES``. Failed.
     ├── AuthenticationError        the device refused the credentials (HTTP 401). Failed,
     │                              never retried.
     ├── CommandError               the device answered with an error body ``{"code", "message"}``
     │    └── InstallFailed         an install was attempted and failed on the device
     ├── RebootTimeout              after an install, the device did not come back in time. Failed.
     ├── VersionMismatch            after an upgrade, the device runs another version. Failed.
     └── InvalidVersion             a version string is not X.Y.Z; raised before any network
                                    call (also a ``ValueError``)

No message ever carries the password.

Every class says what a runner needs to know, without naming it: ``unreachable``
(the device could not be reached: the host is unreachable, not failed),
``retryable`` (another attempt may succeed) and ``refused_credentials`` (the
device refused the login: the same credentials elsewhere risk an AAA lockout).
"""

from __future__ import annotations

COMMUNICATION_PROBLEM = "problem communicating with device"


class AcmeOSError(Exception):
    """Base class of every AcmeOS client error."""

    #: the device could not be reached (the host is unreachable rather than failed)
    unreachable = False
    #: another attempt may succeed
    retryable = True
    #: the device refused the credentials (the same ones elsewhere risk an account lockout)
    refused_credentials = False


class ConnectionFailure(AcmeOSError):
    """The device could not be reached (the host is *unreachable*)."""

    unreachable = True

    def __init__(self, message: str = COMMUNICATION_PROBLEM, *, detail: str = "") -> None:
        super().__init__(message)
        #: what the socket layer said (for logs), never the credentials
        self.detail = detail


class ConnectTimeout(ConnectionFailure):
    """No TCP connection could be made within the connect timeout."""


class BadAddress(ConnectionFailure):
    """The host's hostname or port cannot be connected to; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"bad device address: {reason}", detail=reason)
        self.reason = reason


class ReadTimeout(AcmeOSError):
    """The device accepted the request but did not answer in time.

    Either nothing came within the read timeout, or the whole answer did not come
    by the request's deadline (``deadline=True``): a device that trickles its answer.
    """

    def __init__(self, timeout: float, *, deadline: bool = False) -> None:
        if deadline:
            text = (
                f"device did not send its whole answer within {timeout:g}s (the request's deadline)"
            )
        else:
            text = f"device did not answer within the read timeout of {timeout:g}s"
        super().__init__(text)
        self.timeout = timeout
        self.deadline = deadline


class AnswerTooLarge(AcmeOSError):
    """The device's answer is larger than the client accepts."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"device sent an answer larger than {limit} bytes (the limit)")
        self.limit = limit


class AuthenticationError(AcmeOSError):
    """The device refused the username or password."""

    retryable = False
    refused_credentials = True

    def __init__(self, username: str | None, message: str = "") -> None:
        who = f"user {username!r}" if username else "no username given"
        text = f"authentication failed ({who})"
        if message:
            text += f": {message}"
        super().__init__(text)
        self.username = username


class CommandError(AcmeOSError):
    """The device answered a request with an error body."""

    def __init__(self, code: str, message: str, status: int = 0) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class InstallFailed(CommandError):
    """The device tried to install an OS version and failed; it still runs the old one."""


class InvalidVersion(AcmeOSError, ValueError):
    """A version string is not of the form X.Y.Z (digits only)."""

    retryable = False

    def __init__(self, version: object) -> None:
        super().__init__(f"invalid AcmeOS version {version!r}: expected X.Y.Z, e.g. '5.4.1'")
        self.version = version


class RebootTimeout(AcmeOSError):
    """After an install, the device did not accept a session again within the timeout.

    Not retried: a retry would find the device still down and report it unreachable,
    hiding that it never came back.
    """

    retryable = False

    def __init__(self, timeout: float) -> None:
        super().__init__(f"device did not come back within {timeout:g}s after its reboot")
        self.timeout = timeout


class VersionMismatch(AcmeOSError):
    """After an upgrade, the device runs a version other than the one installed."""

    def __init__(self, expected: str, running: str) -> None:
        super().__init__(f"device runs {running} after the upgrade, expected {expected}")
        self.expected = expected
        self.running = running
