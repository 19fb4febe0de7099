"""Bounded HTTP for the AcmeOS client and the inventory: one deadline per request, capped answers.

urllib3's timeouts hold for each socket operation: a server sending one byte per
second never trips them. The pools here give every socket a cap on its timeout,
read before each send and receive: the time left to the request's deadline
(``request_deadline``) and to the thread's step deadline
(``acmerun.acmeos.deadline``). A request therefore ends by its deadline however
the server trickles. ``read_answer`` reads a body up to a size, never more.
``address_problem`` says what is wrong with a host and port before any socket is
made, ``masked`` shows a URL without its credentials.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.response import BaseHTTPResponse

from acmerun.acmeos import deadline
from acmerun.acmeos.defaults import MASK

#: how much of an answer is read at a time
CHUNK = 64 * 1024

_local = threading.local()
_T = TypeVar("_T")


class TooLarge(Exception):
    """An answer was bigger than the caller allows."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        said = f" (it announced {declared} bytes)" if declared is not None else ""
        super().__init__(f"the answer is larger than {limit} bytes{said}")
        self.limit = limit


@contextmanager
def request_deadline(seconds: float) -> Iterator[float]:
    """Every socket operation of this thread inside the block ends within ``seconds`` in all.

    Yields the deadline (``time.monotonic()`` time). Nested blocks keep the earlier one.
    """
    previous: float | None = getattr(_local, "until", None)
    until = time.monotonic() + max(0.0, seconds)
    _local.until = until if previous is None else min(until, previous)
    try:
        yield _local.until
    finally:
        _local.until = previous


def time_left() -> float | None:
    """Seconds left to the earlier of the request's and the step's deadlines (None: unbounded)."""
    until: float | None = getattr(_local, "until", None)
    step = deadline.remaining()
    mine = None if until is None else until - time.monotonic()
    if mine is None:
        return step
    return mine if step is None else min(mine, step)


class _Capped:
    """Socket methods whose timeout is cut to the time left before they block."""

    __slots__ = ()

    def _capped(self, call: Callable[..., _T], *args: Any) -> _T:
        left = time_left()
        if left is None:
            return call(*args)
        if left <= 0:
            raise TimeoutError("timed out (the request's deadline passed)")
        sock: Any = self
        base = sock.gettimeout()
        if base is not None and base <= left:
            return call(*args)
        sock.settimeout(left)
        try:
            return call(*args)
        finally:
            sock.settimeout(base)

    def recv(self, *args: Any) -> Any:
        return self._capped(super().recv, *args)  # type: ignore[misc]

    def recv_into(self, *args: Any) -> Any:
        return self._capped(super().recv_into, *args)  # type: ignore[misc]

    def send(self, *args: Any) -> Any:
        return self._capped(super().send, *args)  # type: ignore[misc]

    def sendall(self, *args: Any) -> Any:
        return self._capped(super().sendall, *args)  # type: ignore[misc]


class _Socket(_Capped, socket.socket):
    __slots__ = ()


class _TLSSocket(_Capped, ssl.SSLSocket):
    __slots__ = ()


def _cap(sock: Any) -> None:
    if isinstance(sock, ssl.SSLSocket):
        sock.__class__ = _TLSSocket
    elif type(sock) is socket.socket:
        sock.__class__ = _Socket


class _HTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _cap(self.sock)


class _HTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _cap(self.sock)


class HTTPPool(urllib3.HTTPConnectionPool):
    """An urllib3 pool whose sockets keep to the request's and the step's deadlines."""

    ConnectionCls = _HTTPConnection


class HTTPSPool(urllib3.HTTPSConnectionPool):
    """``HTTPPool`` over TLS."""

    ConnectionCls = _HTTPSConnection


class PoolManager(urllib3.PoolManager):
    """An urllib3 pool manager whose pools are ``HTTPPool`` and ``HTTPSPool``."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.pool_classes_by_scheme = {"http": HTTPPool, "https": HTTPSPool}


def read_answer(response: BaseHTTPResponse, limit: int) -> bytearray:
    """The body of ``response``, or ``TooLarge`` as soon as it passes ``limit`` bytes.

    On any error the connection is closed, never returned to its pool half read.
    """
    try:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise TooLarge(limit, int(declared))
        body = bytearray()
        for chunk in response.stream(CHUNK):
            body += chunk
            if len(body) > limit:
                raise TooLarge(limit)
    except BaseException:
        response.close()
        response.release_conn()
        raise
    response.release_conn()
    return body


_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\Z")


def _shown(value: object, hidden: Iterable[str | None] = ()) -> str:
    """``value`` as a message shows it: masked first (the ``hidden`` strings, a URL's
    ``user:password@``), then cut to 80 characters, so no cut leaves part of a secret."""
    text = repr(value)
    for secret in hidden:
        if secret:
            text = text.replace(secret, MASK).replace(repr(secret)[1:-1], MASK)
    text = masked(text)
    return text if len(text) <= 80 else text[:77] + "..."


def address_problem(
    hostname: object, port: object, hidden: Iterable[str | None] = ()
) -> str | None:
    """What makes ``hostname:port`` unusable (not an IP address or a DNS name, a bad port);
    the ``hidden`` strings (the host's password) are masked in it."""
    if not isinstance(hostname, str) or not hostname:
        return "the host has no hostname to connect to"
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        return f"port {_shown(port, hidden)} is not a TCP port (1-65535)"
    name = hostname[1:-1] if hostname.startswith("[") and hostname.endswith("]") else hostname
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    labels = name.removesuffix(".").split(".")
    if len(name) > 253 or ":" in name or not all(_LABEL.match(label) for label in labels):
        return f"hostname {_shown(hostname, hidden)} is neither an IP address nor a DNS name"
    return None


def masked(url: str) -> str:
    """``url`` with any ``user:password@`` shown as ``********@``."""
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{head}://{MASK}@{authority.rpartition('@')[2]}{slash}{path}"


def url_problem(url: str) -> str | None:
    """What makes ``url`` unusable as an http(s) service URL (None when nothing)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"it cannot be read ({error})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "it is not an http(s) URL"
    problem = address_problem(parts.hostname, 443 if parts.scheme == "https" else 80)
    if problem is None and port is not None:
        problem = address_problem(parts.hostname, port)
    return problem
