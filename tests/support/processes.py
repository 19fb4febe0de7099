"""``acmerun`` and lab processes for end-to-end tests, every byte they write checked for secrets.

Every end-to-end test runs its processes through ``run_acmerun``/``start_acmerun``/
``start_lab``: what they print is recorded, and at the end of the test the
``secret_scan`` fixture fails the test if a password appears in any recorded
output or in any file under the test's folder or the state dir (reports, logs,
JUnit files, crash logs, lock files, lab state).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME

REPO = Path(__file__).resolve().parents[2]
READY = re.compile(r"inventory: (http://127\.0\.0\.1:\d+)\n\Z")


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


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child process: the current one plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    return env


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
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m acmerun ARGS`` to its end; its output is recorded for the secret scan."""
    run = subprocess.run(
        [sys.executable, "-m", "acmerun", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    record(f"stdout of acmerun {' '.join(args)}", run.stdout)
    record(f"stderr of acmerun {' '.join(args)}", run.stderr)
    return run


class Process:
    """A child process whose every line of output is recorded for the secret scan."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], cwd: Path | None) -> None:
        self.what = " ".join(argv[2:])
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.proc.pid
        self._ended = False

    def readline(self, timeout: float = 30) -> str:
        """The next line of stdout ('' when it ends or nothing comes within ``timeout``)."""
        assert self.proc.stdout is not None
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        line = got[0] if got else ""
        record(f"stdout of {self.what}", line)
        return line

    def communicate(self, timeout: float = 60) -> tuple[str, str]:
        """Wait for the end; the rest of stdout and stderr ('' after the first call)."""
        if self._ended:
            return "", ""
        out, err = self.proc.communicate(timeout=timeout)
        self._ended = True
        record(f"stdout of {self.what}", out)
        record(f"stderr of {self.what}", err)
        return out, err

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


def wait_until_caught(process: Process, sig: int, timeout: float = 30) -> None:
    """Wait until ``process`` has a handler for ``sig`` (so sending it now is handled)."""
    deadline = time.monotonic() + timeout
    status = Path(f"/proc/{process.proc.pid}/status")
    while time.monotonic() < deadline:
        for line in status.read_text().splitlines():
            if line.startswith("SigCgt:") and int(line.split()[1], 16) >> (sig - 1) & 1:
                return
        time.sleep(0.02)
    raise AssertionError(f"the process did not install a handler for signal {sig}")


def start_acmerun(*args: str, env: dict[str, str], cwd: Path) -> Process:
    """``python -m acmerun ARGS`` in the background."""
    return Process([sys.executable, "-m", "acmerun", *args], env=env, cwd=cwd)


class LabProcess(Process):
    """``python -m acmerun.lab serve``: one small site on loopback."""

    url: str = ""


def start_lab(*options: str, cwd: Path | None = None, leaves: int = 4) -> LabProcess:
    """A lab process serving earth with ``leaves`` leaves and ``options`` (faults); ready."""
    lab = LabProcess(
        [
            sys.executable,
            "-m",
            "acmerun.lab",
            "serve",
            "--site",
            "earth",
            "--leaves",
            str(leaves),
            "--username",
            LAB_USERNAME,
            *options,
        ],
        env=environment(ACMEOS_LAB_PASSWORD=LAB_PASSWORD),
        cwd=cwd,
    )
    line = lab.readline(timeout=30)
    match = READY.match(line)
    if match is None:
        lab.kill()
        raise AssertionError(f"the lab did not start: {line!r}")
    lab.url = match.group(1)
    return lab


def stop(processes: Iterable[Process]) -> None:
    """End every process still running (SIGTERM, then SIGKILL)."""
    for p in processes:
        if p.proc.poll() is None:
            p.proc.terminate()
            try:
                p.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
