"""The embedded lab inside acmerun processes: one state file shared safely, nothing on the terminal.

Its state file is shared by every acmerun process of the user: each keeps the
others' device changes. What it has to say goes to the ``acmerun.lab`` logger,
so to the run's ``--log-file``, never to the terminal.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acmerun import paths
from acmerun.acmeos import defaults
from acmerun.errors import ExitCode, exit_code_of
from acmerun.lab import LabError
from acmerun.logs import run_logging
from acmerun.plugins.inventory.embedded import (
    STATE_FILE,
    embedded_lab,
    start_embedded_lab,
    stop_embedded_lab,
)
from acmerun.secrets import Secrets
from tests.support.processes import REPO

#: a process of its own with the embedded lab: says its inventory URL, waits for its stdin to
#: close, then stops the lab as a run does at its end
EMBEDDED = """
import sys
from acmerun.plugins.inventory.embedded import start_embedded_lab, stop_embedded_lab
print(start_embedded_lab().url, flush=True)
sys.stdin.read()
stop_embedded_lab()
"""

#: a process whose embedded lab cannot write its state at exit (the file became corrupt):
#: with "log" in argv, the process logs to argv[2] as a run with --log-file does
LEFT_RUNNING = """
import logging, sys
from acmerun import paths
from acmerun.plugins.inventory.embedded import STATE_FILE, start_embedded_lab
if sys.argv[1] == "log":
    logging.getLogger().addHandler(logging.FileHandler(sys.argv[2]))
start_embedded_lab()
(paths.state_dir() / STATE_FILE).write_text("{broken")
print("started", flush=True)
"""


@pytest.fixture
def no_embedded_lab() -> Iterator[None]:
    stop_embedded_lab()
    yield
    with contextlib.suppress(LabError):  # the test broke its state file on purpose
        stop_embedded_lab()


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def device(url: str, name: str) -> dict[str, Any]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/lab/devices")
    devices: dict[str, Any] = json.loads(conn.getresponse().read())
    conn.close()
    return devices[name]


def call(target: dict[str, Any], path: str, body: Any, token: str = "") -> tuple[int, Any]:
    conn = http.client.HTTPConnection(target["hostname"], target["port"], timeout=10)
    headers = {"X-Auth-Token": token} if token else {}
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    return response.status, answer


def install(url: str, name: str, version: str) -> None:
    target = device(url, name)
    credentials = {"username": defaults.FACTORY_USERNAME, "password": defaults.FACTORY_PASSWORD}
    status, answer = call(target, "/api/v1/session", credentials)
    assert status == 201, answer
    status, answer = call(target, "/api/v1/install", {"version": version}, answer["token"])
    assert status == 200, answer


@pytest.mark.usefixtures("no_embedded_lab")
def test_two_processes_on_the_embedded_lab_keep_each_others_upgrades() -> None:
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", EMBEDDED],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for _ in range(2)
    ]
    try:
        # both have loaded the state file before either upgrades anything
        urls = [run.stdout.readline().strip() for run in runs]  # type: ignore[union-attr]
        assert all(url.startswith("http://127.0.0.1:") for url in urls), urls
        install(urls[0], "leaf10.earth", "9.1.0")
        install(urls[1], "leaf11.mars", "9.2.0")
        # the first ends last: it writes back after the second, never having seen its change
        ended = []
        for run in reversed(runs):
            out, err = run.communicate(input="", timeout=60)
            ended.append((run.returncode, out, err))
    finally:
        for run in runs:
            run.kill()
            run.wait()
    assert ended == [(0, "", ""), (0, "", "")]
    versions = json.loads((paths.state_dir() / STATE_FILE).read_text())["devices"]
    assert (versions["leaf10.earth"], versions["leaf11.mars"]) == ("9.1.0", "9.2.0")
    # the next run's lab sees both
    seen = start_embedded_lab().devices()
    assert (seen["leaf10.earth"].version, seen["leaf11.mars"].version) == ("9.1.0", "9.2.0")


@pytest.mark.usefixtures("no_embedded_lab")
def test_a_state_write_failing_during_a_run_goes_to_its_log_file_never_the_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "run.log"
    state = paths.state_dir() / STATE_FILE
    logged = threading.Event()

    def seen(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            logged.set()
        return True

    lab_logger = logging.getLogger("acmerun.lab")
    lab_logger.addFilter(seen)
    try:
        with run_logging(log_file, Secrets()):
            url = start_embedded_lab().url
            state.write_text("{broken")
            install(url, "edge00.earth", "9.9.9")
            assert logged.wait(30), "the failed write was not logged"
            with pytest.raises(LabError) as caught:
                stop_embedded_lab()
    finally:
        lab_logger.removeFilter(seen)
    assert exit_code_of(caught.value) == ExitCode.BAD_OPTIONS
    assert str(caught.value).startswith(f"lab state file {state} is corrupt: ")
    assert embedded_lab() is None
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    lines = log_file.read_text().splitlines()
    assert any(
        " ERROR acmerun.lab [" in line and f"lab state file {state} is corrupt" in line
        for line in lines
    ), lines
    assert state.read_text() == "{broken"


@pytest.mark.parametrize("logging_to", ["nowhere", "log"])
def test_a_lab_that_cannot_stop_cleanly_at_exit_is_logged_never_printed(
    tmp_path: Path, logging_to: str
) -> None:
    log_file = tmp_path / "run.log"
    done = subprocess.run(
        [sys.executable, "-c", LEFT_RUNNING, logging_to, str(log_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "started\n", "")
    state = paths.state_dir() / STATE_FILE
    assert state.read_text() == "{broken"
    if logging_to == "log":
        assert log_file.read_text().startswith(
            f"the embedded lab did not stop cleanly: lab state file {state} is corrupt: "
        )
    else:
        assert not log_file.exists()


@pytest.mark.usefixtures("no_embedded_lab")
def test_a_corrupt_state_file_is_a_bad_option_naming_it_and_is_kept() -> None:
    state = paths.state_dir() / STATE_FILE
    state.write_text('{"format": 1, "devices": {"edge')
    with pytest.raises(LabError) as caught:
        start_embedded_lab()
    assert str(caught.value).startswith(f"lab state file {state} is corrupt: ")
    assert embedded_lab() is None
    assert state.read_text() == '{"format": 1, "devices": {"edge'
