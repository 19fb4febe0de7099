"""AcmeOSAPI's bounds: a whole request ends by its deadline, answers are capped, bad addresses."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from acmerun.acmeos import (
    AcmeOSAPI,
    AnswerTooLarge,
    BadAddress,
    ConnectionFailure,
    ReadTimeout,
    defaults,
)
from acmerun.acmeos.deadline import DeadlineExceeded, step_deadline
from tests.support.slow_servers import FloodServer, TrickleServer, json_answer

LOGIN = json_answer({"token": "tok"}, "201 Created")


def api(port: int, connect: float = 0.5, read: float = 1.0) -> AcmeOSAPI:
    return AcmeOSAPI("127.0.0.1", "netops", "pw", port, connect_timeout=connect, read_timeout=read)


@pytest.mark.parametrize("fast", [0, LOGIN.index(b"\r\n\r\n") + 4], ids=["headers", "body"])
def test_a_device_trickling_its_answer_fails_at_the_request_deadline(fast: int) -> None:
    # one byte every 0.5 s never trips the 1 s read timeout: only the total deadline ends it
    with TrickleServer(LOGIN, interval=0.5, fast=fast) as server:
        started = time.monotonic()
        with pytest.raises(ReadTimeout) as caught:
            api(server.port, connect=0.5, read=1.0).open()
        took = time.monotonic() - started
    assert str(caught.value) == (
        "device did not send its whole answer within 1.5s (the request's deadline)"
    )
    assert 1.4 <= took < 3.0
    assert not isinstance(caught.value, ConnectionFailure)  # the host failed, not unreachable


def test_the_step_deadline_still_comes_first() -> None:
    with TrickleServer(LOGIN, interval=0.5) as server:
        started = time.monotonic()
        with step_deadline(0.8), pytest.raises(DeadlineExceeded):
            api(server.port, connect=5, read=60).open()
    assert time.monotonic() - started < 2.0


def test_a_trickle_quicker_than_the_deadline_is_read_whole() -> None:
    with TrickleServer(LOGIN, interval=0.0005, fast=40) as server:
        client = api(server.port, connect=2, read=10)
        client.open()
        assert client.is_open


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "unannounced"])
def test_an_answer_over_the_cap_fails_the_request_with_bounded_reading(announce: bool) -> None:
    limit = defaults.MAX_ANSWER_BYTES
    with FloodServer(size=20 * limit, announce=announce) as server:
        started = time.monotonic()
        with pytest.raises(AnswerTooLarge) as caught:
            api(server.port, connect=2, read=10).open()
        assert time.monotonic() - started < 10
        assert str(caught.value) == f"device sent an answer larger than {limit} bytes (the limit)"
        assert server.sent < 2 * limit + 8 * 1024 * 1024  # it stopped reading near the cap


def test_after_an_answer_too_large_the_next_request_opens_a_new_connection() -> None:
    class Sometimes(FloodServer):
        def answer(self, conn: socket.socket) -> bool:
            if self.requests == 1:
                return super().answer(conn)
            conn.sendall(LOGIN)
            return True

    with Sometimes(size=2 * defaults.MAX_ANSWER_BYTES, announce=False) as server:
        client = api(server.port, connect=2, read=10)
        with pytest.raises(AnswerTooLarge):
            client.open()
        client.open()
        assert client.is_open
        assert server.connections == 2


@pytest.mark.parametrize(
    ("hostname", "port", "reason"),
    [
        ("a b", 80, "hostname 'a b' is neither an IP address nor a DNS name"),
        ("edge\r\nX-Evil: 1", 80, r"hostname 'edge\r\nX-Evil: 1' is neither"),
        ("::1::x", 80, "hostname '::1::x' is neither an IP address nor a DNS name"),
        ("-edge.earth", 80, "is neither an IP address nor a DNS name"),
        ("a" * 300, 80, "is neither an IP address nor a DNS name"),
        ("", 80, "the host has no hostname to connect to"),
        ("127.0.0.1", 99999, "port 99999 is not a TCP port (1-65535)"),
        ("127.0.0.1", 0, "port 0 is not a TCP port (1-65535)"),
        ("127.0.0.1", -1, "port -1 is not a TCP port (1-65535)"),
        ("127.0.0.1", True, "port True is not a TCP port (1-65535)"),
        ("127.0.0.1", "80", "port '80' is not a TCP port (1-65535)"),
    ],
)
def test_a_bad_address_is_refused_before_any_socket(
    hostname: str, port: Any, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_socket(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a socket call was made")

    monkeypatch.setattr(socket, "socket", no_socket)
    monkeypatch.setattr(socket, "getaddrinfo", no_socket)
    with pytest.raises(BadAddress) as caught:
        AcmeOSAPI(hostname, "netops", "pw", port).open()
    assert isinstance(caught.value, ConnectionFailure)  # the host is unreachable
    assert str(caught.value).startswith("bad device address: ")
    assert reason in str(caught.value)


@pytest.mark.parametrize("hostname", ["127.0.0.1", "::1", "[::1]", "edge00.earth", "edge_1.lab."])
def test_good_addresses_are_accepted(hostname: str) -> None:
    assert AcmeOSAPI(hostname, "netops", "pw", 8080).hostname == hostname


def test_a_name_that_does_not_resolve_is_a_bad_address_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the resolver is the one thing replaced: CI has no DNS to rely on
    def unknown(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(
        BadAddress, match=r"^bad device address: cannot resolve hostname 'edge9\.x'$"
    ):
        AcmeOSAPI("edge9.x", "netops", "pw", 80, connect_timeout=1).open()


@pytest.mark.parametrize("start", [60, 70, 76, 78])
@pytest.mark.parametrize("form", ["password", "url"])
def test_a_bad_address_never_shows_part_of_a_password_cut_at_the_length_limit(
    start: int, form: str
) -> None:
    password = "Pa55-w0rd-l0ng-en0ugh-to-be-cut"
    if form == "password":
        hostname = "x" * start + password + " tail"
    else:
        hostname = "http://netops:" + password + "@" + "x" * start
    with pytest.raises(BadAddress) as caught:
        AcmeOSAPI(hostname, "netops", password, 80).open()
    message = str(caught.value)
    assert "is neither an IP address nor a DNS name" in message
    assert not any(password[i : i + 4] in message for i in range(len(password) - 3)), message
