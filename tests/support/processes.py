"""``acmerun`` and lab processes for end-to-end tests, every byte they write checked for secrets.

Every end-to-end test runs its processes through ``run_acmerun``/``start_acmerun``/
``start_lab``: what they print is recorded, and at the end of the test the
``secret_scan`` fixture fails the test if a password appears in any recorded
output or in any file under the test's folder or the state dir (reports, logs,
JUnit files, crash logs, lock files, lab state).

Output is read with selectors and deadlines, never with a thread left blocked on a
pipe: ``readline`` and ``wait_for_line`` wait for a line (an event), not for a time.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Protocol

from acmerun.lab import process as lab_process
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME

REPO = Path(__file__).resolve().parents[2]


class SecretScan:
    """Collects what processes printed; ``verify()`` fails if a secret is in it or in a file."""

    def __init__(self, secrets: Iterable[str], roots: Iterable[Path]) -> None:
        self.secrets = [s for s in secrets if s]
        self.roots = list(roots)
        self.outputs: list[tuple[str, str]] = []
        self.inputs: set[Path] = set()
        self.files_scanned = 0

    def record(self, what: str, text: str | bytes | None) -> None:
        """Keep ``text`` (a process's output) for the final check."""
        if text:
            self.outputs.append(
                (what, text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
            )

    def allow(self, path: Path) -> None:
        """A file the test itself wrote with a secret in it (a config file): not scanned."""
        self.inputs.add(path.resolve())

    def leaks(self) -> list[str]:
        """Where a secret was found: ``stdout of ...``, or a file path."""
        found = []
        for what, text in self.outputs:
            found.extend(f"{what} holds {s!r}" for s in self.secrets if s in text)
        for root in self.roots:
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*")):
                if not path.is_file() or path.resolve() in self.inputs:
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                self.files_scanned += 1
                found.extend(f"{path} holds {s!r}" for s in self.secrets if s.encode() in data)
        return found

    def verify(self) -> None:
        """Fail when a secret was written anywhere."""
        leaks = self.leaks()
        assert not leaks, "a password was written out:\n" + "\n".join(leaks)


_current: SecretScan | None = None


def set_scan(scan: SecretScan | None) -> None:
    """Make ``scan`` the one the helpers record into (the ``secret_scan`` fixture does this)."""
    global _current
    _current = scan


def record(what: str, text: str | bytes | None) -> None:
    """Keep a process's output for the secret scan of the running test."""
    assert _current is not None, "end-to-end processes must run under the secret_scan fixture"
    _current.record(what, text)


def environment(
    lab_url: str | None = None, password: str = LAB_PASSWORD, **extra: str
) -> dict[str, str]:
    """The environment of a child process: acmerun importable, pointed at ``lab_url``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if lab_url is not None:
        env.update(
            ACME_INVENTORY_URL=lab_url, ACMEOS_USERNAME=LAB_USERNAME, ACMEOS_PASSWORD=password
        )
    env.update(extra)
    return env


def run_acmerun(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120, stdin: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m acmerun ARGS`` to its end; its output is recorded for the secret scan."""
    run = subprocess.run(
        [sys.executable, "-m", "acmerun", *args],
        env=env,
        cwd=cwd,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    record(f"stdout of acmerun {' '.join(args)}", run.stdout)
    record(f"stderr of acmerun {' '.join(args)}", run.stderr)
    return run


class Stoppable(Protocol):
    """What ``stop()`` ends: an ``acmerun`` or lab process of these helpers."""

    def stop(self) -> int: ...


class Process:
    """A child process whose every byte of output is recorded for the secret scan."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], cwd: Path | None) -> None:
        self.what = " ".join(argv[2:])
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.pid = self.proc.pid
        self._pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._read: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._open = {"stdout": True, "stderr": True}
        self._ended = False

    def readline(self, timeout: float = 30) -> str:
        """The next line of stdout ('' when it ends or nothing comes within ``timeout``)."""
        return self._next_line("stdout", time.monotonic() + timeout)

    def wait_for_line(self, text: str, stream: str = "stdout", timeout: float = 30) -> str:
        """The first line of ``stream`` (``stdout``/``stderr``) from now on that holds ``text``.

        Raises ``AssertionError`` when the stream ends or ``timeout`` passes first.
        """
        deadline = time.monotonic() + timeout
        skipped: list[str] = []
        while True:
            line = self._next_line(stream, deadline)
            if text in line:
                return line
            if not line:
                raise AssertionError(
                    f"{self.what}: no {stream} line with {text!r}; it said {skipped!r}"
                )
            skipped.append(line)

    def _next_line(self, stream: str, deadline: float) -> str:
        pipe = self._pipe(stream)
        while b"\n" not in self._pending[stream] and self._open[stream] and not self._ended:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with selectors.DefaultSelector() as selector:
                selector.register(pipe, selectors.EVENT_READ)
                if not selector.select(left):
                    continue
            chunk = os.read(pipe.fileno(), 65536)
            self._open[stream] = bool(chunk)
            self._pending[stream] += chunk
        pending = self._pending[stream]
        if b"\n" in pending:
            line, _, self._pending[stream] = pending.partition(b"\n")
            line += b"\n"
        elif not self._open[stream]:
            line, self._pending[stream] = pending, b""
        else:
            return ""
        self._read[stream] += line
        return line.decode("utf-8", "replace")

    def _pipe(self, stream: str) -> IO[bytes]:
        pipe = self.proc.stdout if stream == "stdout" else self.proc.stderr
        assert pipe is not None
        return pipe

    def communicate(self, timeout: float = 60) -> tuple[str, str]:
        """Wait for the end; what stdout and stderr said that was not read yet.

        Everything the process printed is recorded for the secret scan once it ended;
        a second call returns ``("", "")``.
        """
        if self._ended:
            return "", ""
        out, err = self.proc.communicate(timeout=timeout)
        self._ended = True
        rest = {"stdout": self._pending["stdout"] + out, "stderr": self._pending["stderr"] + err}
        for stream in ("stdout", "stderr"):
            record(f"{stream} of {self.what}", self._read[stream] + rest[stream])
        return rest["stdout"].decode("utf-8", "replace"), rest["stderr"].decode("utf-8", "replace")

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` unless the process has ended."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        """Wait for the end (output still recorded); the exit code."""
        self.communicate(timeout)
        return self.returncode

    @property
    def returncode(self) -> int:
        """The exit code (the process must have ended)."""
        code = self.proc.poll()
        assert code is not None
        return code

    def kill(self) -> None:
        """``kill -9`` and reap it; never raises."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(ValueError, subprocess.TimeoutExpired, OSError):
            self.communicate(timeout=30)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it lingers 15 s; the exit code."""
        self.send_signal(signal.SIGTERM)
        try:
            self.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.returncode


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30) -> None:
    """Wait until ``condition()`` is true (checked every 10 ms), or fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting until {what}")
        time.sleep(0.01)


def wait_until_caught(process: Process, sig: int, timeout: float = 30) -> None:
    """Wait until ``process`` has a handler for ``sig`` (so sending it now is handled)."""
    status = Path(f"/proc/{process.proc.pid}/status")

    def caught() -> bool:
        for line in status.read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
        return False

    wait_until(caught, f"{process.what} handles signal {sig}", timeout)


def wait_until_open(process: Process, path: Path, timeout: float = 30) -> None:
    """Wait until ``process`` has ``path`` open (e.g. the lock file it waits for)."""
    fds = Path(f"/proc/{process.proc.pid}/fd")
    wanted = str(path.resolve())

    def is_open() -> bool:
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == wanted:
                    return True
        return False

    wait_until(is_open, f"{process.what} opened {path}", timeout)


def start_acmerun(*args: str, env: dict[str, str], cwd: Path) -> Process:
    """``python -m acmerun ARGS`` in the background."""
    return Process([sys.executable, "-m", "acmerun", *args], env=env, cwd=cwd)


class LabProcess:
    """``python -m acmerun.lab serve`` (``acmerun.lab.process``), its output recorded at its end."""

    def __init__(self, launched: lab_process.LabProcess, what: str) -> None:
        self.launched = launched
        self.url = launched.url
        self.proc = launched.proc
        self.pid = launched.pid
        self.what = what
        self._recorded = False

    def _record(self) -> tuple[str, str]:
        out, err = self.launched.communicate()
        if not self._recorded:
            self._recorded = True
            record(f"stdout of {self.what}", out)
            record(f"stderr of {self.what}", err)
        return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def communicate(self, timeout: float = 60) -> tuple[str, str]:
        """Wait for the end; all it printed (recorded for the secret scan)."""
        self.launched.communicate(timeout)
        return self._record()

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` unless the lab has ended."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """``kill -9`` and reap it."""
        self.launched.kill()
        self._record()

    def stop(self) -> int:
        """SIGTERM (SIGKILL if it lingers); the exit code."""
        code = self.launched.stop()
        self._record()
        return code


def start_lab(
    *options: str,
    cwd: Path | None = None,
    sites: Sequence[str] = ("earth",),
    leaves: int | None = 4,
    username: str | None = LAB_USERNAME,
    ready_timeout: float = 60,
    password: str = LAB_PASSWORD,
) -> LabProcess:
    """A lab process serving ``sites`` (none: the lab's 8) with ``leaves`` leaves each; ready.

    It accepts the test credentials (``username`` None: the lab's default user);
    ``options`` (faults, state) come last. ``None`` leaves a setting to the lab.
    """
    command = [arg for site in sites for arg in ("--site", site)]
    if leaves is not None:
        command += ["--leaves", str(leaves)]
    if username is not None:
        command += ["--username", username]
    command += options
    try:
        launched = lab_process.start_lab(
            command,
            env=environment(ACMEOS_LAB_PASSWORD=password),
            cwd=cwd,
            ready_timeout=ready_timeout,
        )
    except lab_process.LabProcessError as exc:
        record("output of a lab that did not start", str(exc))
        raise AssertionError(f"the lab did not start: {exc}") from None
    return LabProcess(launched, "acmerun lab serve " + " ".join(command))


def stop(processes: Iterable[Stoppable]) -> None:
    """End every process still running (SIGTERM, then SIGKILL)."""
    for p in processes:
        p.stop()
