"""The AcmeOS client: ``AcmeOSAPI``, one device, JSON over HTTP/1.1 with keep-alive.

The interface is the nornir3 demo's vendor library (``open``, ``close``,
``get_version``, ``get_cpu_ram``, ``install_os_version``) plus what an upgrade
and its verification need (``wait_until_up``, ``reboot``, ``get_interfaces``,
``get_neighbors``). Every failure is one of ``acmerun.acmeos.errors``.
A request ends within its connect timeout plus its read timeout in all, however
slowly the device answers, and within the calling thread's step deadline
(``acmerun.acmeos.deadline``); an answer over ``defaults.MAX_ANSWER_BYTES`` is
refused. A hostname or port that cannot be connected to is refused before any
socket is made. The password is kept out of every message, ``repr`` and log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from acmerun.acmeos import deadline, defaults, transport
from acmerun.acmeos.answers import (
    InstallReport,
    Interface,
    Neighbor,
    RebootReport,
    Resources,
    VersionInfo,
    object_list,
    require_keys,
)
from acmerun.acmeos.errors import (
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
)

log = logging.getLogger(__name__)

#: an install answers once the image is written: allow it at least this long (seconds)
INSTALL_READ_TIMEOUT = 600.0
#: pauses between reconnection attempts while a device reboots (seconds)
RECONNECT_FIRST_PAUSE = 0.1
RECONNECT_MAX_PAUSE = 1.0
#: logging out is a courtesy: never wait long for it
LOGOUT_TIMEOUT = 2.0

#: a socket timeout may end this much before the deadline it was cut to (seconds)
_SLACK = 0.005

_JSON = "application/json"
_SESSION = "/api/v1/session"


def check_version(version: object) -> str:
    """``version`` if it is an X.Y.Z string (digits only), else ``InvalidVersion``."""
    if not isinstance(version, str) or defaults.VERSION_PATTERN.fullmatch(version) is None:
        raise InvalidVersion(version)
    return version


class AcmeOSAPI:
    """A session with one AcmeOS device.

    ``open()`` logs in; the session survives until ``close()``. A session the
    device forgot (it rebooted) is renewed once, transparently, on the next call.
    Not thread-safe: one thread talks to one device at a time (nornir's model).
    """

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        port: int = 80,
        *,
        connect_timeout: float = defaults.CONNECT_TIMEOUT,
        read_timeout: float = defaults.READ_TIMEOUT,
        login_gate: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        """``BadAddress`` for a bad hostname or port; each login runs inside ``login_gate()``."""
        problem = transport.address_problem(hostname, port, hidden=(password,))
        if problem is not None:
            raise BadAddress(problem)
        self.hostname = hostname
        self.port = port
        self.username = username
        self._password = password
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._login_gate = login_gate or nullcontext
        self._pool: transport.HTTPPool | None = None
        self._token: str | None = None
        # headers are built once per session: a GET carries only the token
        self._get_headers: dict[str, str] = {}
        self._body_headers: dict[str, str] = {"Content-Type": _JSON}

    def __repr__(self) -> str:
        return (
            f"AcmeOSAPI(hostname={self.hostname!r}, port={self.port!r}, username={self.username!r})"
        )

    @property
    def is_open(self) -> bool:
        """True while a session is established."""
        return self._token is not None

    # -- the vendor interface -------------------------------------------------------------

    def open(self) -> None:
        """Connect and log in; ``AuthenticationError`` if the device refuses the credentials."""
        self._login()

    def close(self) -> None:
        """Log out (best effort, briefly) and release the socket. Never raises."""
        pool, self._pool = self._pool, None
        token, self._token = self._token, None
        if pool is None:
            return
        try:
            if token is not None:
                left = deadline.remaining()
                if left is None or left > 0:
                    limit = LOGOUT_TIMEOUT if left is None else min(LOGOUT_TIMEOUT, left)
                    with transport.request_deadline(limit):
                        response = pool.urlopen(
                            "DELETE",
                            _SESSION,
                            headers={"X-Auth-Token": token},
                            retries=False,
                            redirect=False,
                            preload_content=False,
                            timeout=urllib3.Timeout(
                                connect=min(self.connect_timeout, limit),
                                read=min(self.read_timeout, limit),
                            ),
                        )
                        transport.read_answer(response, defaults.MAX_ANSWER_BYTES)
        except Exception as exc:  # logging out is a courtesy
            log.debug("%s: logout failed: %s", self.hostname, exc)
        finally:
            try:
                pool.close()
            except Exception as exc:
                log.debug("%s: closing the connection failed: %s", self.hostname, exc)

    def get_version(self) -> VersionInfo:
        """The OS running on the device: ``os_version``, ``revision``, ``full_version``."""
        answer = self._call("GET", "/api/v1/version")
        require_keys(answer, ("os_version", "revision", "full_version"), "version")
        answer.setdefault("previous_version", None)
        return cast(VersionInfo, answer)

    def get_cpu_ram(self) -> Resources:
        """CPU use (percent) and RAM (``ram_total``, ``ram_used``, MiB)."""
        answer = self._call("GET", "/api/v1/resources")
        require_keys(answer, ("cpu", "ram_total", "ram_used"), "resources")
        return cast(Resources, answer)

    def get_interfaces(self) -> list[Interface]:
        """Every interface of the device, in order: name, admin and oper state, description."""
        answer = self._call("GET", "/api/v1/interfaces")
        items = object_list(answer, "interfaces", ("name", "admin_state", "oper_state"))
        for item in items:
            item.setdefault("description", "")
        return cast(list[Interface], items)

    def get_neighbors(self) -> list[Neighbor]:
        """Every routing session of the device: peer, interface, state, prefixes received."""
        answer = self._call("GET", "/api/v1/neighbors")
        items = object_list(answer, "neighbors", ("peer", "state", "prefixes_received"))
        for item in items:
            item.setdefault("interface", "")
        return cast(list[Neighbor], items)

    def reboot(self) -> RebootReport:
        """Reboot the device, keeping its version; ``wait_until_up()`` waits for it.

        The session ends with the reboot. ``CommandError`` (``busy``) while an
        install runs on the device.
        """
        answer = self._call("POST", "/api/v1/reboot")
        require_keys(answer, ("status",), "reboot")
        answer.setdefault("reboot_seconds", 0.0)
        self._forget_session()
        return cast(RebootReport, answer)

    def install_os_version(self, version: str) -> InstallReport:
        """Install ``version`` (X.Y.Z); the device then reboots unless it already runs it.

        ``InvalidVersion`` before any network call; ``InstallFailed`` when the
        device tried and failed (it keeps its old version). After a reboot the
        session is gone: ``wait_until_up()`` waits for the device and logs in again.
        """
        check_version(version)
        answer = self._call(
            "POST",
            "/api/v1/install",
            {"version": version},
            read_timeout=max(self.read_timeout, INSTALL_READ_TIMEOUT),
        )
        require_keys(answer, ("previous_version", "version", "status"), "install")
        if answer["status"] != "unchanged":
            self._forget_session()
        return cast(InstallReport, answer)

    def wait_until_up(self, timeout: float, expected: float = 0.0) -> float:
        """Wait for the device to accept a new session, for at most ``timeout`` seconds.

        ``expected`` is the reboot time the device announced: the first try waits
        that long, since the device cannot be back sooner. Then tries after a pause
        growing from 0.1 s (0.05 s past an announced reboot) to 1 s, for as long as
        the device is unreachable or silent. Returns the seconds waited.
        ``RebootTimeout`` when it is not back in time, ``DeadlineExceeded`` when the
        step's deadline comes first, ``AuthenticationError`` at once if it refuses
        the credentials.
        """
        started = time.monotonic()
        give_up = started + timeout
        pause = RECONNECT_FIRST_PAUSE
        if expected > 0:
            pause = min(expected, timeout)
        self._forget_session()
        while True:
            left = give_up - time.monotonic()
            if left <= 0:
                raise RebootTimeout(timeout)
            remaining = deadline.remaining()
            time.sleep(min(pause, left) if remaining is None else min(pause, left, remaining))
            if expected > 0:
                pause, expected = RECONNECT_FIRST_PAUSE / 2, 0.0
            else:
                pause = min(pause * 2, RECONNECT_MAX_PAUSE)
            deadline.check()
            left = give_up - time.monotonic()
            if left <= 0:
                raise RebootTimeout(timeout)
            try:
                self._login(limit=left)
                return time.monotonic() - started
            except (ConnectionFailure, ReadTimeout) as exc:
                log.debug("%s: not back yet: %s", self.hostname, exc)
                self._forget_session()

    # -- plumbing ---------------------------------------------------------------------------

    def _login(self, limit: float | None = None) -> None:
        with self._login_gate():
            status, answer = self._send(
                "POST",
                _SESSION,
                json.dumps({"username": self.username, "password": self._password}).encode(),
                self.read_timeout,
                limit,
            )
        if status == 401:
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            raise AuthenticationError(self.username, self._scrub(str(message)))
        if status != 201:
            raise self._error(status, answer)
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise CommandError("bad_response", "login answer carries no token", status)
        self._token = token
        self._get_headers = {"X-Auth-Token": token}
        self._body_headers = {"X-Auth-Token": token, "Content-Type": _JSON}

    def _call(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        read_timeout: float | None = None,
    ) -> dict[str, Any]:
        if self._token is None:
            self._login()
        body = None if payload is None else json.dumps(payload).encode()
        timeout = self.read_timeout if read_timeout is None else read_timeout
        status, answer = self._send(method, path, body, timeout)
        if status == 401 and _code(answer) == "unauthenticated":
            log.debug("%s: session lost, logging in again", self.hostname)
            self._forget_session()
            self._login()
            status, answer = self._send(method, path, body, timeout)
        if status != 200 or not isinstance(answer, dict):
            raise self._error(status, answer)
        return answer

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        read_timeout: float,
        limit: float | None = None,
    ) -> tuple[int, Any]:
        connect = deadline.cap(self.connect_timeout)
        read = deadline.cap(read_timeout)
        if limit is not None:
            connect, read = min(connect, limit), min(read, limit)
        pool = self._pool
        if pool is None:
            pool = self._pool = transport.HTTPPool(
                self.hostname, self.port, maxsize=1, block=False, retries=False
            )
        total = connect + read
        with transport.request_deadline(total) as until:
            try:
                response = pool.urlopen(
                    method,
                    path,
                    body=body,
                    headers=self._get_headers if body is None else self._body_headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                    timeout=urllib3.Timeout(connect=connect, read=read),
                )
                data = transport.read_answer(response, defaults.MAX_ANSWER_BYTES)
            except transport.TooLarge:
                raise AnswerTooLarge(defaults.MAX_ANSWER_BYTES) from None
            except ReadTimeoutError:
                deadline.check()
                if time.monotonic() >= until - _SLACK:  # the answer trickled past the deadline
                    raise ReadTimeout(total, deadline=True) from None
                raise ReadTimeout(read) from None
            except NameResolutionError:
                raise BadAddress(f"cannot resolve hostname {self.hostname!r}") from None
            except NewConnectionError as exc:
                raise ConnectionFailure(detail=self._detail(exc)) from None
            except ConnectTimeoutError as exc:
                deadline.check()
                raise ConnectTimeout(detail=self._detail(exc)) from None
            except (HTTPError, OSError) as exc:
                deadline.check()
                if time.monotonic() >= until - _SLACK:  # the request's deadline cut it short
                    raise ReadTimeout(total, deadline=True) from None
                raise ConnectionFailure(detail=self._detail(exc)) from None
        if not data:
            return response.status, None
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data[:200].decode("utf-8", "replace")

    def _forget_session(self) -> None:
        self._token = None
        self._get_headers = {}
        self._body_headers = {"Content-Type": _JSON}

    def _error(self, status: int, answer: Any) -> AcmeOSError:
        code = _code(answer)
        if code is None:
            return CommandError(
                "bad_response",
                f"unexpected answer (HTTP {status}): {self._scrub(repr(answer))}",
                status,
            )
        message = self._scrub(str(answer.get("message", "")))
        if code == "install_failed":
            return InstallFailed(code, message, status)
        return CommandError(code, message, status)

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, defaults.MASK) if self._password else text

    def _detail(self, exc: BaseException) -> str:
        return f"{self.hostname}:{self.port}: {self._scrub(str(exc))}"


def _code(answer: Any) -> str | None:
    if isinstance(answer, dict):
        code = answer.get("code")
        if isinstance(code, str):
            return code
    return None
