"""``python -m acmerun.lab serve`` as a process: ready line, signals, state, bad options."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME
from tests.support.processes import record
from tests.support.processes import subprocess_env as lab_subprocess_env

READY = re.compile(r"inventory: (http://127\.0\.0\.1:\d+)\n\Z")


class LabProcess:
    """A lab served by a child process."""

    def __init__(self, *options: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "acmerun.lab", "serve", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=lab_subprocess_env(ACMEOS_LAB_PASSWORD=LAB_PASSWORD),
        )
        self.url = ""

    def wait_ready(self, timeout: float = 20.0) -> str:
        lines: list[str] = []
        assert self.proc.stdout is not None
        reader = threading.Thread(target=lambda: lines.append(self.proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        assert lines, "the lab printed no ready line"
        record("stdout of the lab", lines[0])
        match = READY.match(lines[0])
        assert match, f"unexpected ready line {lines[0]!r}"
        self.url = match.group(1)
        return lines[0]

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=15)
        record("stdout of the lab", out)
        record("stderr of the lab", err)
        return self.proc.returncode, out, err

    def hosts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/inventory/hosts", timeout=5) as answer:
            hosts: list[dict[str, Any]] = json.load(answer)["hosts"]
        return hosts


@pytest.fixture
def processes() -> Iterator[list[LabProcess]]:
    started: list[LabProcess] = []
    yield started
    for lab in started:
        if lab.proc.poll() is None:
            lab.proc.kill()
            out, err = lab.proc.communicate()
            record("stdout of the lab", out)
            record("stderr of the lab", err)


def serve(processes: list[LabProcess], *options: str) -> LabProcess:
    lab = LabProcess(*options)
    processes.append(lab)
    lab.wait_ready()
    return lab


def device_call(host: dict[str, Any], method: str, path: str, body: Any, token: str = "") -> Any:
    conn = http.client.HTTPConnection(host["hostname"], host["port"], timeout=5)
    headers = {"X-Auth-Token": token} if token else {}
    conn.request(method, path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    return response.status, answer


def install(host: dict[str, Any], version: str) -> None:
    status, answer = device_call(
        host, "POST", "/api/v1/session", {"username": LAB_USERNAME, "password": LAB_PASSWORD}
    )
    assert status == 201, answer
    status, answer = device_call(
        host, "POST", "/api/v1/install", {"version": version}, answer["token"]
    )
    assert status == 200, answer


def test_ready_line_then_sigterm_exits_0_and_a_restart_keeps_the_state(
    tmp_path: Path, processes: list[LabProcess]
) -> None:
    state = tmp_path / "lab.json"
    options = ("--sites", "2", "--leaves", "3", "--state", str(state), "--username", LAB_USERNAME)
    first = serve(processes, *options)
    hosts = {host["name"]: host for host in first.hosts()}
    assert len(hosts) == 18 and "leaf02.venus" in hosts
    install(hosts["leaf02.venus"], "9.9.9")
    code, out, err = first.stop(signal.SIGTERM)
    assert code == 0
    assert out == ""  # the ready line was the only one
    assert "Traceback" not in err and LAB_PASSWORD not in err
    assert json.loads(state.read_text())["devices"]["leaf02.venus"] == "9.9.9"

    second = serve(processes, *options)
    with urllib.request.urlopen(f"{second.url}/lab/devices", timeout=5) as answer:
        assert json.load(answer)["leaf02.venus"]["version"] == "9.9.9"
    code, _, err = second.stop(signal.SIGINT)
    assert code == 0 and "Traceback" not in err


def test_a_password_given_on_the_command_line_is_never_printed(
    processes: list[LabProcess],
) -> None:
    lab = serve(processes, "--sites", "1", "--leaves", "0", "--password", "Very-Secret-9")
    status, _ = device_call(
        lab.hosts()[0],
        "POST",
        "/api/v1/session",
        {"username": "admin", "password": "Very-Secret-9"},
    )
    assert status == 201
    code, out, err = lab.stop()
    assert code == 0 and "Very-Secret-9" not in out + err


def test_kill_9_leaves_a_loadable_state_file(tmp_path: Path, processes: list[LabProcess]) -> None:
    state = tmp_path / "lab.json"
    options = ("--sites", "1", "--leaves", "10", "--state", str(state), "--username", LAB_USERNAME)
    lab = serve(processes, *options)
    hosts = [host for host in lab.hosts() if host["dev_type"] == "leaf"]
    for number, host in enumerate(hosts):
        install(host, f"8.{number}.0")
    time.sleep(0.3)  # longer than the state write interval
    lab.proc.kill()
    lab.proc.communicate()
    versions = json.loads(state.read_text())["devices"]
    assert versions["leaf09.mercury"] == "8.9.0"
    again = serve(processes, *options)
    assert again.stop()[0] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--latency-ms", "5:x"), "'5:x' is not MIN:MAX milliseconds"),
        (("--latency-ms", "20:5"), "latency_ms minimum 20 is above its maximum 5"),
        (("--error-rate", "1.5"), "error_rate must be a probability between 0 and 1"),
        (("--install-failure-rate", "-0.5"), "install_failure_rate must be a probability"),
        (("--reboot-seconds", "-1"), "reboot_seconds must be a number of seconds >= 0"),
        (("--host", "0.0.0.0"), "the lab listens on loopback only"),
        (("--sites", "many"), "'many' is not a valid integer"),
    ],
)
def test_bad_options_exit_5_with_one_error_line(options: tuple[str, ...], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "acmerun.lab", "serve", *options],
        capture_output=True,
        text=True,
        timeout=30,
        env=lab_subprocess_env(),
    )
    assert done.returncode == 5
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("acmerun lab: error: "), done.stderr
    assert message in lines[0]


@pytest.mark.parametrize("content", ["{broken", '{"format": 99}'])
def test_a_corrupt_state_file_exits_5_and_is_left_alone(tmp_path: Path, content: str) -> None:
    state = tmp_path / "lab.json"
    state.write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "acmerun.lab", "serve", "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=30,
        env=lab_subprocess_env(),
    )
    assert done.returncode == 5
    assert done.stderr.startswith(f"acmerun lab: error: lab state file {state} ")
    assert len(done.stderr.splitlines()) == 1
    assert state.read_text() == content
