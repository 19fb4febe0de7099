"""The lab as a child process, for tests and benchmarks: ``python -m acmerun.lab serve ...``.

``start_lab(["--site", "earth"])`` starts the lab, waits (with a deadline) for
its ready line ``inventory: URL`` and returns a ``LabProcess`` with ``.url``
and ``.proc``; ``stop()`` ends it with SIGTERM (SIGKILL if it lingers),
``kill()`` with SIGKILL. Both reap the process and keep what it printed
(``communicate()``). ``sessions()`` reads its session log (``GET /lab/sessions``).

The ready line is read with a selector over the lab's stdout and stderr, so a
lab that prints nothing, exits early or fills its stderr never hangs the
caller. This module imports nothing of acmerun: starting a lab costs the
caller no import of aiohttp or of the lab itself.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

#: what the lab prints on stdout, followed by its inventory URL, once every device listens
READY_PREFIX = "inventory: "
#: seconds ``stop()`` waits for the lab to end after SIGTERM before it kills it
STOP_TIMEOUT = 15.0

_Stderr = int | IO[Any] | None


class LabProcessError(RuntimeError):
    """The lab did not start: it exited, said something else, or said nothing in time."""


class LabProcess:
    """A running lab process: its inventory URL, its ``Popen``, and how to end it."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, stdout: bytes, stderr: bytes):
        self.proc = proc
        self.url = url
        self.pid = proc.pid
        self._stdout = stdout
        self._stderr = stderr
        self._ended = False

    def communicate(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        """Wait for the end; everything the lab printed (stderr: only if it was a pipe).

        Raises ``subprocess.TimeoutExpired`` if it has not ended within ``timeout``;
        calling it again after the end returns the same output.
        """
        if not self._ended:
            out, err = self.proc.communicate(timeout=timeout)
            self._stdout += out or b""
            self._stderr += err or b""
            self._ended = True
        return self._stdout, self._stderr

    def sessions(self, timeout: float = 30.0) -> dict[str, Any]:
        """The lab's session log: ``{"total", "per_second", "busiest", "devices", "recent"}``."""
        with urllib.request.urlopen(f"{self.url}/lab/sessions", timeout=timeout) as answer:
            log: dict[str, Any] = json.load(answer)
        return log

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; its exit code once reaped."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                return self.kill()
        self.communicate()
        return self.proc.returncode

    def kill(self) -> int:
        """SIGKILL now; its exit code once reaped."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.communicate()
        return self.proc.returncode

    def __enter__(self) -> LabProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def lab_command(options: Sequence[str], python: str = sys.executable) -> list[str]:
    """The command line of a lab serving with ``options``."""
    return [python, "-m", "acmerun.lab", "serve", *options]


def start_lab(
    options: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stderr: _Stderr = subprocess.PIPE,
    ready_timeout: float = 60.0,
    python: str = sys.executable,
) -> LabProcess:
    """Start ``python -m acmerun.lab serve OPTIONS``; return it once it printed its URL.

    ``stderr`` is where the lab's stderr goes: a pipe by default (kept, and
    quoted when the lab does not start; read again only at the end, which suits
    the line or two a lab prints), or a file, or ``subprocess.DEVNULL``.
    Raises ``LabProcessError`` (the process reaped) when the lab exits before its
    ready line, prints another first line, or prints none within ``ready_timeout``.
    """
    command = lab_command(options, python)
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=dict(env) if env is not None else None,
        cwd=Path(cwd) if cwd is not None else None,
    )
    try:
        out, err = _read_ready_line(proc, ready_timeout)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        raise
    line = out.split(b"\n", 1)[0].decode("utf-8", "replace")
    return LabProcess(proc, line[len(READY_PREFIX) :].strip(), out, err)


def _read_ready_line(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes]:
    """What the lab printed up to its first stdout line (stdout, stderr); raises if not ready."""
    assert proc.stdout is not None
    out_fd = proc.stdout.fileno()
    streams = {out_fd: b""}
    if proc.stderr is not None:
        streams[proc.stderr.fileno()] = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in streams[out_fd]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabProcessError(
                    f"the lab printed no ready line within {timeout:g}s" + _said(streams, out_fd)
                )
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    streams[key.fd] += chunk
                    continue
                selector.unregister(key.fd)
                if key.fd == out_fd:
                    proc.wait()
                    raise LabProcessError(
                        f"the lab exited with code {proc.returncode} before its ready line"
                        + _said(streams, out_fd)
                    )
    out = streams[out_fd]
    err = b"".join(chunk for fd, chunk in streams.items() if fd != out_fd)
    if not out.startswith(READY_PREFIX.encode()):
        line = out.split(b"\n", 1)[0].decode("utf-8", "replace")
        raise LabProcessError(f"the lab's first line is not its ready line: {line!r}")
    return out, err


def _said(streams: dict[int, bytes], out_fd: int) -> str:
    err = b"".join(chunk for fd, chunk in streams.items() if fd != out_fd)
    text = (streams[out_fd] + err).decode("utf-8", "replace").strip()
    return f": {text[-2000:]}" if text else ""
