"""What a terminal shows after some output: a small screen that plays the common escape codes.

It knows printable text, ``\\n`` (a new line, as a terminal's output processing
makes it), ``\\r``, ``\\b``, and the CSI sequences cursor up/down/forward/back/
column (``A B C D G``), erase in line (``K``) and in display (``J``). Colors
and modes (``m``, ``h``, ``l``) change nothing on the screen and are skipped.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.support import processes

_CSI = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z])")


class Screen:
    """The lines a terminal ``width`` columns wide shows, from the top of the output."""

    def __init__(self, width: int = 120) -> None:
        self.width = width
        self.rows: list[list[str]] = [[]]
        self.row = 0
        self.col = 0

    def feed(self, text: str) -> Screen:
        """Play ``text`` on the screen; returns the screen."""
        at = 0
        while at < len(text):
            csi = _CSI.match(text, at)
            if csi is not None:
                self._control(csi.group(1), csi.group(2))
                at = csi.end()
                continue
            self._char(text[at])
            at += 1
        return self

    def lines(self) -> list[str]:
        """What it shows: every line, trailing blanks and blank last lines left out."""
        shown = ["".join(row).rstrip() for row in self.rows]
        while shown and not shown[-1]:
            shown.pop()
        return shown

    def _char(self, char: str) -> None:
        if char == "\n":
            self._move_to(self.row + 1, 0)
        elif char == "\r":
            self.col = 0
        elif char == "\b":
            self.col = max(0, self.col - 1)
        elif char >= " ":
            if self.col >= self.width:
                self._move_to(self.row + 1, 0)
            line = self.rows[self.row]
            line.extend(" " * (self.col + 1 - len(line)))
            line[self.col] = char
            self.col += 1

    def _control(self, params: str, command: str) -> None:
        if params.startswith("?") or command in "mhl":
            return
        n = int(params.split(";")[0] or 0)
        line = self.rows[self.row]
        if command == "A":
            self._move_to(max(0, self.row - max(n, 1)), self.col)
        elif command == "B":
            self._move_to(self.row + max(n, 1), self.col)
        elif command == "C":
            self.col = min(self.width - 1, self.col + max(n, 1))
        elif command == "D":
            self.col = max(0, self.col - max(n, 1))
        elif command == "G":
            self.col = max(0, n - 1)
        elif command == "K":
            if n == 0:
                del line[self.col :]
            elif n == 1:
                line[: self.col + 1] = " " * min(len(line), self.col + 1)
            else:
                line.clear()
        elif command == "J":
            if n == 0:
                del line[self.col :]
                del self.rows[self.row + 1 :]
            else:
                self.rows = [[] for _ in self.rows]

    def _move_to(self, row: int, col: int) -> None:
        while len(self.rows) <= row:
            self.rows.append([])
        self.row, self.col = row, col


class PtyProcess:
    """``python -m acmerun ARGS`` on a pseudo-terminal ``columns`` wide, as a person runs it.

    stdin, stdout and stderr are the terminal (``isatty()`` is true, the width is
    ``columns``). Output is read with a deadline, never a sleep: ``wait_for`` waits
    for text to appear. Everything read is recorded for the secret scan.
    """

    def __init__(
        self, *args: str, env: dict[str, str], cwd: Path, columns: int = 80, rows: int = 24
    ) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
        env["TERM"] = "xterm-256color"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "acmerun", *args],
            env=env,
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.columns = columns
        self.output = ""
        self._closed = False

    def _read(self, deadline: float) -> bool:
        """Read what is there within the deadline; False once the terminal is closed."""
        if self._closed:
            return False
        left = deadline - time.monotonic()
        ready, _, _ = select.select([self.master], [], [], max(0.0, left))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every process holding the terminal is gone
            chunk = b""
        if not chunk:
            self._closed = True
            return False
        self.output += chunk.decode("utf-8", "replace")
        return True

    def wait_for(self, text: str, timeout: float = 60) -> int:
        """Wait until the output holds ``text``; its position in the output."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() >= deadline or not self._read(deadline):
                raise AssertionError(f"no {text!r} in the terminal; it shows {self.output!r}")
        return self.output.index(text)

    def wait_for_match(self, pattern: str, after: int = 0, timeout: float = 60) -> re.Match[str]:
        """Wait until the output from position ``after`` on matches ``pattern``; the match."""
        deadline = time.monotonic() + timeout
        found = re.compile(pattern)
        while (match := found.search(self.output, after)) is None:
            if time.monotonic() >= deadline or not self._read(deadline):
                shown = self.output[after:][-2000:]
                raise AssertionError(f"no {pattern!r} in the terminal; its end shows {shown!r}")
        return match

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to acmerun."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float = 120) -> int:
        """Read to the end of the output and wait for the exit; the exit code."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            if time.monotonic() >= deadline:
                self.proc.kill()
                raise AssertionError(f"acmerun did not end within {timeout:g}s: {self.output!r}")
        code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        processes.record("terminal of acmerun", self.output)
        return code

    def screen(self) -> list[str]:
        """What the terminal shows at the end, line by line."""
        return Screen(self.columns).feed(self.output).lines()
