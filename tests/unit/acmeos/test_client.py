"""AcmeOSAPI against a real HTTP server on loopback that plays canned answers."""

from __future__ import annotations

import json
import logging
import select
import socket
import struct
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from acmerun.acmeos import (
    COMMUNICATION_PROBLEM,
    AcmeOSAPI,
    AuthenticationError,
    CommandError,
    ConnectionFailure,
    ConnectTimeout,
    InstallFailed,
    InvalidVersion,
    ReadTimeout,
    deadline,
)

PASSWORD = "pw-Sup3r-s3cret"
USERNAME = "netops"
TOKEN = "tok-123"

#: what a handler returns: (status, JSON body or raw bytes or None), or "close"/"reset"
Answer = Any
Route = Callable[["Device", Any], Answer]


class Device:
    """A canned AcmeOS device: routes by (method, path), records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.connections = 0
        self.routes: dict[tuple[str, str], Route] = {
            ("POST", "/api/v1/session"): self.login,
            ("DELETE", "/api/v1/session"): lambda d, b: (204, None),
            ("GET", "/api/v1/version"): lambda d, b: (
                200,
                {"os_version": "5.2", "revision": "1", "full_version": "5.2.1"},
            ),
            ("GET", "/api/v1/resources"): lambda d, b: (
                200,
                {"cpu": 23.5, "ram_total": 16384, "ram_used": 7012},
            ),
            ("POST", "/api/v1/install"): lambda d, b: (
                200,
                {
                    "previous_version": "5.2.1",
                    "version": b["version"],
                    "status": "rebooting",
                    "reboot_seconds": 2.0,
                },
            ),
        }
        #: set when the test ends: routes that never answer (``hang``) give up then
        self.released = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @staticmethod
    def login(device: Device, body: Any) -> Answer:
        if body == {"username": USERNAME, "password": PASSWORD}:
            return 201, {"token": TOKEN}
        return 401, {"code": "authentication_failed", "message": "wrong username or password"}

    @staticmethod
    def hang(device: Device, body: Any) -> Answer:
        """A route that answers nothing until the test is over."""
        device.released.wait(60)
        return "close"

    def api(self, **timeouts: float) -> AcmeOSAPI:
        return AcmeOSAPI("127.0.0.1", USERNAME, PASSWORD, self.port, **timeouts)

    def paths(self) -> list[str]:
        return [f"{m} {p}" for m, p, _, _ in self.requests]

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        device = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                device.connections += 1
                super().setup()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                device.requests.append((self.command, self.path, dict(self.headers), body))
                route = device.routes.get((self.command, self.path))
                answer = route(device, body) if route else (404, {"code": "not_found"})
                if answer == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if answer == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                status, payload = answer
                data = (
                    payload
                    if isinstance(payload, bytes)
                    else b""
                    if payload is None
                    else json.dumps(payload).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

        return Handler


@pytest.fixture
def device() -> Iterator[Device]:
    d = Device()
    yield d
    d.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_no_password(exc: BaseException, api: AcmeOSAPI) -> None:
    for text in (str(exc), repr(exc), repr(api), getattr(exc, "detail", "")):
        assert PASSWORD not in text


# -- parsing and sessions --------------------------------------------------------------------


def test_open_logs_in_and_calls_carry_the_token(device: Device) -> None:
    api = device.api()
    api.open()
    assert api.is_open
    assert api.get_version() == {
        "os_version": "5.2",
        "revision": "1",
        "full_version": "5.2.1",
        "previous_version": None,
    }
    assert api.get_cpu_ram() == {"cpu": 23.5, "ram_total": 16384, "ram_used": 7012}
    login, version, resources = device.requests
    assert (login[0], login[1], login[3]) == (
        "POST",
        "/api/v1/session",
        {"username": USERNAME, "password": PASSWORD},
    )
    assert version[2]["X-Auth-Token"] == TOKEN
    assert resources[2]["X-Auth-Token"] == TOKEN


def test_requests_share_one_kept_alive_connection(device: Device) -> None:
    api = device.api()
    api.open()
    for _ in range(5):
        api.get_version()
    assert device.connections == 1


def test_a_call_before_open_logs_in_first(device: Device) -> None:
    api = device.api()
    assert api.get_version()["full_version"] == "5.2.1"
    assert device.paths() == ["POST /api/v1/session", "GET /api/v1/version"]


def test_close_logs_out_releases_the_socket_and_is_idempotent(device: Device) -> None:
    api = device.api()
    api.open()
    api.close()
    api.close()
    assert device.paths() == ["POST /api/v1/session", "DELETE /api/v1/session"]
    assert device.requests[-1][2]["X-Auth-Token"] == TOKEN
    assert not api.is_open


def test_close_never_raises_even_when_the_device_is_gone(device: Device) -> None:
    api = device.api()
    api.open()
    device.stop()
    api.close()
    AcmeOSAPI("127.0.0.1", USERNAME, PASSWORD, free_port()).close()


def test_install_returns_the_device_report_and_forgets_the_session(device: Device) -> None:
    api = device.api()
    api.open()
    report = api.install_os_version("5.4.1")
    assert report == {
        "previous_version": "5.2.1",
        "version": "5.4.1",
        "status": "rebooting",
        "reboot_seconds": 2.0,
    }
    assert device.requests[-1][3] == {"version": "5.4.1"}
    assert not api.is_open  # a reboot ends every session
    api.get_version()
    assert device.paths()[-2:] == ["POST /api/v1/session", "GET /api/v1/version"]


def test_install_waits_longer_than_the_read_timeout(device: Device) -> None:
    def slow_install(d: Device, body: Any) -> Answer:
        time.sleep(0.5)
        return 200, {"previous_version": "5.2.1", "version": "5.4.1", "status": "unchanged"}

    device.routes[("POST", "/api/v1/install")] = slow_install
    api = device.api(read_timeout=0.2)
    api.open()
    assert api.install_os_version("5.4.1")["status"] == "unchanged"
    assert api.is_open


def test_a_lost_session_is_renewed_once(device: Device) -> None:
    seen: list[str] = []

    def version(d: Device, body: Any) -> Answer:
        seen.append("v")
        if len(seen) == 1:
            return 401, {"code": "unauthenticated", "message": "unknown token"}
        return 200, {"os_version": "5.2", "revision": "1", "full_version": "5.2.1"}

    device.routes[("GET", "/api/v1/version")] = version
    api = device.api()
    api.open()
    assert api.get_version()["full_version"] == "5.2.1"
    assert device.paths() == [
        "POST /api/v1/session",
        "GET /api/v1/version",
        "POST /api/v1/session",
        "GET /api/v1/version",
    ]


def test_a_session_refused_twice_is_a_command_error(device: Device) -> None:
    device.routes[("GET", "/api/v1/version")] = lambda d, b: (
        401,
        {"code": "unauthenticated", "message": "unknown token"},
    )
    api = device.api()
    api.open()
    with pytest.raises(CommandError) as caught:
        api.get_version()
    assert caught.value.code == "unauthenticated"
    assert device.paths().count("POST /api/v1/session") == 2


# -- errors ------------------------------------------------------------------------------------


def test_wrong_credentials_are_an_authentication_error_not_a_connection_error(
    device: Device,
) -> None:
    api = AcmeOSAPI("127.0.0.1", USERNAME, "wrong-" + PASSWORD, device.port)
    with pytest.raises(AuthenticationError) as caught:
        api.open()
    assert not isinstance(caught.value, ConnectionFailure)
    assert str(caught.value) == (
        "authentication failed (user 'netops'): wrong username or password"
    )
    assert "wrong-" not in str(caught.value)


def test_a_device_echoing_the_password_never_gets_it_into_a_message(device: Device) -> None:
    device.routes[("POST", "/api/v1/session")] = lambda d, b: (
        401,
        {"code": "authentication_failed", "message": f"bad password {b['password']}"},
    )
    api = device.api()
    with pytest.raises(AuthenticationError) as caught:
        api.open()
    assert str(caught.value) == "authentication failed (user 'netops'): bad password ********"
    assert_no_password(caught.value, api)
    assert PASSWORD not in repr(api)
    assert repr(api) == f"AcmeOSAPI(hostname='127.0.0.1', port={device.port}, username='netops')"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (500, "install_failed", InstallFailed),
        (503, "busy", CommandError),
        (400, "invalid_version", CommandError),
    ],
)
def test_error_bodies_become_command_errors(
    device: Device, status: int, code: str, kind: type[CommandError]
) -> None:
    device.routes[("POST", "/api/v1/install")] = lambda d, b: (
        status,
        {"code": code, "message": "it went wrong"},
    )
    api = device.api()
    api.open()
    with pytest.raises(CommandError) as caught:
        api.install_os_version("5.4.1")
    assert type(caught.value) is kind
    assert (caught.value.code, caught.value.message, caught.value.status) == (
        code,
        "it went wrong",
        status,
    )
    assert str(caught.value) == f"{code}: it went wrong"


@pytest.mark.parametrize(
    "answer",
    [
        (200, b"<html>not json</html>"),
        (200, {"os_version": "5.2"}),
        (200, ["a", "list"]),
        (502, b"Bad Gateway"),
    ],
)
def test_answers_that_break_the_contract_are_command_errors(device: Device, answer: Any) -> None:
    device.routes[("GET", "/api/v1/version")] = lambda d, b: answer
    api = device.api()
    api.open()
    with pytest.raises(CommandError) as caught:
        api.get_version()
    assert caught.value.code == "bad_response"


def test_a_device_that_refuses_connections_is_a_connection_failure() -> None:
    port = free_port()
    api = AcmeOSAPI("127.0.0.1", USERNAME, PASSWORD, port)
    with pytest.raises(ConnectionFailure) as caught:
        api.open()
    assert type(caught.value) is ConnectionFailure
    assert str(caught.value) == COMMUNICATION_PROBLEM == "problem communicating with device"
    assert f"127.0.0.1:{port}" in caught.value.detail
    assert_no_password(caught.value, api)


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_connection_closed_or_reset_mid_call_is_a_connection_failure(
    device: Device, how: str
) -> None:
    device.routes[("GET", "/api/v1/version")] = lambda d, b: how
    api = device.api()
    api.open()
    with pytest.raises(ConnectionFailure) as caught:
        api.get_version()
    assert str(caught.value) == COMMUNICATION_PROBLEM
    assert_no_password(caught.value, api)


def test_a_device_that_recovers_is_reached_again_on_the_next_call(device: Device) -> None:
    calls: list[int] = []

    def flaky(d: Device, body: Any) -> Answer:
        calls.append(1)
        if len(calls) == 1:
            return "reset"
        return 200, {"os_version": "5.2", "revision": "1", "full_version": "5.2.1"}

    device.routes[("GET", "/api/v1/version")] = flaky
    api = device.api()
    api.open()
    with pytest.raises(ConnectionFailure):
        api.get_version()
    assert api.get_version()["full_version"] == "5.2.1"


def test_a_slow_device_is_a_read_timeout(device: Device) -> None:
    device.routes[("GET", "/api/v1/version")] = Device.hang
    api = device.api(read_timeout=0.2)
    api.open()
    started = time.monotonic()
    with pytest.raises(ReadTimeout) as caught:
        api.get_version()
    assert time.monotonic() - started < 10  # the read timeout; the device never answers
    assert not isinstance(caught.value, ConnectionFailure)
    assert str(caught.value) == "device did not answer within the read timeout of 0.2s"


@pytest.fixture
def unanswered_listener() -> Iterator[int]:
    """A port whose accept queue is full: new connections get no answer to their SYN."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    # a filler connected: the queue's place is taken, the SYNs of the others go unanswered
    assert select.select([], fillers, [], 10)[1]
    yield port
    for s in fillers:
        s.close()
    listener.close()


def test_no_connection_within_the_connect_timeout_is_a_connect_timeout(
    unanswered_listener: int,
) -> None:
    api = AcmeOSAPI("127.0.0.1", USERNAME, PASSWORD, unanswered_listener, connect_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(ConnectTimeout) as caught:
        api.open()
    assert time.monotonic() - started < 10  # the connect timeout, not the system's minutes
    assert isinstance(caught.value, ConnectionFailure)
    assert str(caught.value) == COMMUNICATION_PROBLEM


@pytest.mark.parametrize("bad", ["5.4", "5.4.1.2", "v5.4.1", "5.4.x", " 5.4.1", "", None, 541])
def test_invalid_versions_are_refused_before_any_network_call(device: Device, bad: Any) -> None:
    api = device.api()
    with pytest.raises(InvalidVersion) as caught:
        api.install_os_version(bad)
    assert isinstance(caught.value, ValueError)
    assert device.connections == 0
    assert device.requests == []


def test_invalid_versions_are_refused_even_for_an_unreachable_device() -> None:
    api = AcmeOSAPI("127.0.0.1", USERNAME, PASSWORD, free_port())
    with pytest.raises(InvalidVersion, match=r"invalid AcmeOS version '5\.4'"):
        api.install_os_version("5.4")


# -- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stuck", ["connect", "login", "read"])
def test_the_step_deadline_caps_every_wait_of_a_call(
    device: Device, unanswered_listener: int, stuck: str
) -> None:
    """Timeouts of a minute, a device stuck at one phase: the call ends at the step deadline."""
    api = device.api(connect_timeout=60, read_timeout=60)
    if stuck == "connect":
        api = AcmeOSAPI("127.0.0.1", USERNAME, PASSWORD, unanswered_listener, connect_timeout=60)
    elif stuck == "login":
        device.routes[("POST", "/api/v1/session")] = Device.hang
    else:
        device.routes[("GET", "/api/v1/version")] = Device.hang
    started = time.monotonic()
    with deadline.step_deadline(0.3), pytest.raises(deadline.DeadlineExceeded):
        api.open()
        api.get_version()
    assert time.monotonic() - started < 10  # the deadline, not the timeouts of 60 s


def test_an_expired_deadline_makes_no_call(device: Device) -> None:
    api = device.api()
    with deadline.step_deadline(0.01):
        time.sleep(0.02)
        with pytest.raises(deadline.DeadlineExceeded):
            api.open()
    assert device.connections == 0


# -- hygiene -----------------------------------------------------------------------------------


def test_no_urllib3_warnings_or_log_records_reach_the_user(
    device: Device, caplog: pytest.LogCaptureFixture
) -> None:
    device.routes[("GET", "/api/v1/version")] = lambda d, b: "reset"
    caplog.set_level(logging.DEBUG, logger="urllib3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api = device.api()
        api.open()
        with pytest.raises(ConnectionFailure):
            api.get_version()
        with pytest.raises(ConnectionFailure):
            AcmeOSAPI("127.0.0.1", USERNAME, PASSWORD, free_port()).open()
        api.close()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)


def test_waiting_for_a_reboot_first_waits_the_announced_reboot_time(device: Device) -> None:
    tries: list[float] = []
    back = time.monotonic() + 0.6

    def login(d: Device, body: Any) -> Answer:
        tries.append(time.monotonic())
        return Device.login(d, body) if tries[-1] >= back else "close"

    api = device.api()
    device.routes[("POST", "/api/v1/session")] = login
    started = time.monotonic()
    waited = api.wait_until_up(timeout=10, expected=0.5)
    # no try before the device can be back; then short pauses, not a growing backoff
    assert tries[0] - started >= 0.5
    assert waited >= 0.6
    assert len(tries) <= 4
    assert api.get_version()["full_version"] == "5.2.1"


def test_a_device_that_does_not_say_its_previous_version_reads_as_none(device: Device) -> None:
    assert device.api().get_version()["previous_version"] is None


@pytest.mark.parametrize(
    ("path", "answer", "message"),
    [
        ("/api/v1/neighbors", {"neighbors": {"a": 1}}, "neighbors is not a list of objects"),
        ("/api/v1/neighbors", {"neighbours": []}, "neighbors answer lacks neighbors"),
        ("/api/v1/neighbors", {"neighbors": [{"peer": "x"}]}, "lacks state, prefixes_received"),
        ("/api/v1/interfaces", {"interfaces": [{"name": "eth1"}]}, "lacks admin_state"),
    ],
)
def test_a_malformed_state_answer_is_a_bad_response(
    device: Device, path: str, answer: Any, message: str
) -> None:
    device.routes[("GET", path)] = lambda d, b: (200, answer)
    api = device.api()
    call = api.get_neighbors if "neighbors" in path else api.get_interfaces
    with pytest.raises(CommandError) as raised:
        call()
    assert raised.value.code == "bad_response"
    assert message in str(raised.value)


def test_reboot_ends_the_session_and_a_busy_device_says_so(device: Device) -> None:
    device.routes[("POST", "/api/v1/reboot")] = lambda d, b: (
        200,
        {"status": "rebooting", "reboot_seconds": 1.5},
    )
    api = device.api()
    api.open()
    assert api.reboot() == {"status": "rebooting", "reboot_seconds": 1.5}
    assert not api.is_open
    device.routes[("POST", "/api/v1/reboot")] = lambda d, b: (
        503,
        {"code": "busy", "message": "an install is running on this device"},
    )
    with pytest.raises(CommandError) as raised:
        api.reboot()
    assert raised.value.code == "busy"
