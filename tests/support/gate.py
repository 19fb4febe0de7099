"""A barrier between a test and the hosts of a run in another process.

A runbook step ``task: tests.support.gate:wait_at_gate`` with ``args: {address: ...}``
makes each host that reaches it tell the test it arrived (its process id and
name), then wait until the test opens the gate. The test sees arrivals as
events (``wait_for``), so it acts at a known point of the run (a host has done
its earlier steps, a run holds its lock, hosts are in flight) instead of after
a guessed sleep::

    with Gate() as gate:
        runbook.write_text(RUNBOOK + gate.step())
        run = processes.start_acmerun(...)
        (first,) = gate.wait_for(1)   # a host is held here, its run in progress
        ...                           # kill, signal, start a second run
        gate.open()                   # every host waiting and to come passes

Closing the gate while hosts wait fails their step (their connection ends).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: how long a host waits at a gate before its step fails, in seconds
HOST_WAIT = 300.0


@dataclass(frozen=True)
class Arrival:
    """A host that reached the gate: the process it runs in and its name."""

    pid: int
    host: str


class Gate:
    """A listening socket on loopback that holds the hosts connecting to it until opened."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.arrivals: list[Arrival] = []
        self._held: list[socket.socket] = []
        self._opened = False
        self._closed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._accept, name="test-gate", daemon=True)
        self._thread.start()

    def step(self, name: str = "at the gate", when: str = "", indent: str = "  ") -> str:
        """The YAML of a runbook step that waits at this gate (for the hosts ``when`` holds)."""
        return (
            f"{indent}- name: {name}\n"
            f"{indent}  task: tests.support.gate:wait_at_gate\n"
            f'{indent}  args: {{address: "{self.address}"}}\n'
            + (f"{indent}  when: {json.dumps(when)}\n" if when else "")
        )

    def wait_for(self, count: int = 1, timeout: float = 60.0) -> list[Arrival]:
        """The first ``count`` arrivals, once they came; ``AssertionError`` after ``timeout``."""
        self.wait_until(lambda arrivals: len(arrivals) >= count, f"{count} hosts", timeout)
        return self.arrivals[:count]

    def wait_until(
        self, condition: Callable[[list[Arrival]], bool], what: str, timeout: float = 60.0
    ) -> list[Arrival]:
        """Every arrival so far once ``condition(arrivals)`` holds; fails after ``timeout``."""
        with self._changed:
            met = self._changed.wait_for(lambda: condition(self.arrivals), timeout)
            assert met, f"not at the gate within {timeout:g}s: {what} (came: {self.arrivals})"
            return list(self.arrivals)

    def open(self) -> None:
        """Let every host waiting pass, and every host that comes later."""
        with self._changed:
            self._opened = True
            held, self._held = self._held, []
        for conn in held:
            _let_pass(conn)

    def close(self) -> None:
        """Stop listening; hosts still waiting fail their step."""
        with self._changed:
            self._closed = True
            held, self._held = self._held, []
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        self._listener.close()
        for conn in held:
            conn.close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            conn.settimeout(30)
            try:
                pid, host = conn.makefile("rb").readline().decode().split(" ", 1)
            except (OSError, ValueError):
                conn.close()
                continue
            with self._changed:
                if self._closed:
                    conn.close()
                    return
                self.arrivals.append(Arrival(int(pid), host.strip()))
                self._changed.notify_all()
                if not self._opened:
                    self._held.append(conn)
                    continue
            _let_pass(conn)


def _let_pass(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(b"go\n")
    conn.close()


def wait_at_gate(task: Any, address: str) -> Any:
    """The runbook task: tell the test this host arrived, then wait until it opens the gate."""
    from nornir.core.task import Result

    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=HOST_WAIT) as conn:
        conn.sendall(f"{os.getpid()} {task.host.name}\n".encode())
        answer = conn.makefile("rb").readline()
    if answer != b"go\n":
        raise RuntimeError("the test closed the gate")
    return Result(host=task.host, result="passed the gate")
