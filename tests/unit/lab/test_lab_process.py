"""``acmerun.lab.process``: a lab process, ready once it printed its URL, and ended cleanly.

The real lab serves the first tests; stand-in labs (a package ``acmerun.lab`` in
the working directory, which ``python -m`` finds first) play the ways a lab can
fail to start.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from acmerun.lab.process import LabProcessError, start_lab
from tests.support.credentials import LAB_USERNAME

SMALL = ["--site", "earth", "--leaves", "2", "--username", LAB_USERNAME]


def stand_in(folder: Path, main: str) -> Path:
    """A working directory where ``python -m acmerun.lab`` runs ``main`` instead of the lab."""
    package = folder / "acmerun" / "lab"
    package.mkdir(parents=True)
    (folder / "acmerun" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(textwrap.dedent(main))
    return folder


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_lab_is_ready_once_it_printed_its_url_and_stop_ends_it(tmp_path: Path) -> None:
    lab = start_lab(SMALL, cwd=tmp_path)
    with urllib.request.urlopen(f"{lab.url}/api/v1/inventory/hosts", timeout=10) as answer:
        assert len(json.load(answer)["hosts"]) == 8
    assert lab.stop() == 0
    out, err = lab.communicate()
    assert out == f"inventory: {lab.url}\n".encode()
    assert b"serving 8 devices in 1 site" in err
    port = urllib.parse.urlsplit(lab.url).port
    assert port is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert lab.stop() == 0  # again: nothing to do


def test_kill_ends_it_at_once(tmp_path: Path) -> None:
    with start_lab(SMALL, cwd=tmp_path) as lab:
        assert lab.kill() == -9
        assert gone(lab.pid)


def test_a_lab_that_exits_before_its_ready_line_is_an_error_with_what_it_said(
    tmp_path: Path,
) -> None:
    with pytest.raises(LabProcessError) as failed:
        start_lab(["--latency-ms", "x"], cwd=tmp_path)
    message = str(failed.value)
    assert message.startswith("the lab exited with code 5 before its ready line: ")
    assert "acmerun: error: Invalid value for '--latency-ms'" in message


def test_a_lab_that_says_nothing_is_given_up_at_the_deadline_and_ended(tmp_path: Path) -> None:
    folder = stand_in(
        tmp_path,
        """
        import os, sys, time
        open("pid", "w").write(str(os.getpid()))
        print("starting up", file=sys.stderr, flush=True)
        time.sleep(600)
        """,
    )
    started = time.monotonic()
    with pytest.raises(LabProcessError) as failed:
        start_lab(cwd=folder, ready_timeout=1.0)
    assert time.monotonic() - started < 30
    assert str(failed.value) == "the lab printed no ready line within 1s: starting up"
    assert gone(int((folder / "pid").read_text()))


def test_a_first_line_that_is_not_the_ready_line_is_an_error(tmp_path: Path) -> None:
    folder = stand_in(tmp_path, 'print("listening on 127.0.0.1:8080", flush=True)\n')
    with pytest.raises(LabProcessError) as failed:
        start_lab(cwd=folder)
    assert str(failed.value) == (
        "the lab's first line is not its ready line: 'listening on 127.0.0.1:8080'"
    )


def test_a_lab_that_fills_its_stderr_before_the_ready_line_still_starts(tmp_path: Path) -> None:
    folder = stand_in(
        tmp_path,
        """
        import sys, time
        sys.stderr.write("warning: " + "x" * 1_000_000 + "\\n")
        sys.stderr.flush()
        print("inventory: http://127.0.0.1:9", flush=True)
        time.sleep(600)
        """,
    )
    lab = start_lab(cwd=folder)
    assert lab.url == "http://127.0.0.1:9"
    assert lab.stop(timeout=5) == -15
    assert len(lab.communicate()[1]) > 1_000_000
