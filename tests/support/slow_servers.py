"""HTTP servers that misbehave on purpose, on real loopback sockets, each in its own thread.

``TrickleServer`` answers every request one byte at a time, ``interval`` seconds apart
(a device or an inventory service stuck behind a failing link); ``FloodServer``
answers with a body of any size, produced as it is sent (never held in memory).
Both stop at the end of their ``with`` block, waking any pause at once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
    return head


def json_answer(payload: Any, status: str = "200 OK") -> bytes:
    """A whole HTTP/1.1 answer carrying ``payload`` as JSON."""
    body = json.dumps(payload).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


class _Server:
    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.requests = 0
        self.connections = 0
        #: the request line and headers of every request, as received
        self.heads: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while not self.stopped.is_set():
                head = _read_request(conn)
                if not head:
                    return
                self.heads.append(head)
                self.requests += 1
                if not self.answer(conn):
                    return

    def answer(self, conn: socket.socket) -> bool:
        """Send one answer; False closes the connection."""
        raise NotImplementedError

    def __enter__(self) -> _Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopped.set()
        self._listener.close()
        self._accepting.join(5)
        for worker in self._threads:
            worker.join(5)


class TrickleServer(_Server):
    """Sends ``answer`` (a whole HTTP answer) one byte every ``interval`` seconds.

    ``fast`` bytes go at once first (the status line and headers, say), the rest trickle.
    """

    def __init__(self, answer: bytes, interval: float, fast: int = 0) -> None:
        self._answer = answer
        self.interval = interval
        self.fast = fast
        #: set once the first trickled byte is sent
        self.trickling = threading.Event()
        super().__init__()

    def answer(self, conn: socket.socket) -> bool:
        conn.sendall(self._answer[: self.fast])
        for i in range(self.fast, len(self._answer)):
            conn.sendall(self._answer[i : i + 1])
            self.trickling.set()
            if self.stopped.wait(self.interval):
                return False
        return True


class FloodServer(_Server):
    """Answers with ``size`` bytes of body (a JSON host list, padded), made as they are sent.

    ``announce`` sends a Content-Length; otherwise the body ends when the connection closes.
    ``sent`` counts the body bytes the client took before it hung up.
    """

    def __init__(self, size: int, announce: bool) -> None:
        self.size = size
        self.announce = announce
        self.sent = 0
        super().__init__()

    def chunks(self) -> Iterator[bytes]:
        """The body, 64 KiB at a time: ``{"hosts": [], "pad": "xxxx...."}``."""
        head, tail = b'{"hosts": [], "pad": "', b'"}'
        yield head
        left = self.size - len(head) - len(tail)
        block = b"x" * 65536
        while left > 0:
            yield block[: min(left, len(block))]
            left -= len(block)
        yield tail

    def answer(self, conn: socket.socket) -> bool:
        length = f"Content-Length: {self.size}\r\n" if self.announce else "Connection: close\r\n"
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n".encode())
        for chunk in self.chunks():
            if self.stopped.is_set():
                return False
            conn.sendall(chunk)
            self.sent += len(chunk)
        return self.announce
