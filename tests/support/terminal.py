"""What a terminal shows after some output: a small screen that plays the common escape codes.

It knows printable text, ``\\n`` (a new line, as a terminal's output processing
makes it), ``\\r``, ``\\b``, and the CSI sequences cursor up/down/forward/back/
column (``A B C D G``), erase in line (``K``) and in display (``J``). Colors
and modes (``m``, ``h``, ``l``) change nothing on the screen and are skipped.
"""

from __future__ import annotations

import re

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
