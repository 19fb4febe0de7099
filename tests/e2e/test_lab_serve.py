"""``python -m acmerun.lab serve`` as a process: ready line, signals, state, bad options."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME

READY = re.compile(r"inventory: (http://127\.0\.0\.1:\d+)\n")


def serve(*options: str) -> processes.LabProcess:
    """``python -m acmerun.lab serve OPTIONS``, once it printed its ready line."""
    return processes.start_lab(*options, sites=(), leaves=None, username=None)


def stop(lab: processes.LabProcess, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    """Send ``sig``; the exit code, what stdout said after the ready line, and stderr."""
    lab.send_signal(sig)
    out, err = lab.communicate(timeout=15)
    ready, _, rest = out.partition("\n")
    assert READY.fullmatch(ready + "\n"), ready
    return lab.proc.returncode, rest, err


def hosts(lab: processes.LabProcess) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{lab.url}/api/v1/inventory/hosts", timeout=5) as answer:
        found: list[dict[str, Any]] = json.load(answer)["hosts"]
    return found


@pytest.fixture
def labs() -> Iterator[list[processes.LabProcess]]:
    started: list[processes.LabProcess] = []
    yield started
    for lab in started:
        lab.kill()


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
    tmp_path: Path, labs: list[processes.LabProcess]
) -> None:
    state = tmp_path / "lab.json"
    options = ("--sites", "2", "--leaves", "3", "--state", str(state), "--username", LAB_USERNAME)
    labs.append(first := serve(*options))
    found = {host["name"]: host for host in hosts(first)}
    assert len(found) == 18 and "leaf02.venus" in found
    install(found["leaf02.venus"], "9.9.9")
    code, out, err = stop(first, signal.SIGTERM)
    assert code == 0
    assert out == ""  # the ready line was the only one
    assert "Traceback" not in err and LAB_PASSWORD not in err
    assert json.loads(state.read_text())["devices"]["leaf02.venus"] == "9.9.9"

    labs.append(second := serve(*options))
    with urllib.request.urlopen(f"{second.url}/lab/devices", timeout=5) as answer:
        assert json.load(answer)["leaf02.venus"]["version"] == "9.9.9"
    code, _, err = stop(second, signal.SIGINT)
    assert code == 0 and "Traceback" not in err


def test_a_password_given_on_the_command_line_is_never_printed(
    labs: list[processes.LabProcess],
) -> None:
    labs.append(lab := serve("--sites", "1", "--leaves", "0", "--password", "Very-Secret-9"))
    status, _ = device_call(
        hosts(lab)[0],
        "POST",
        "/api/v1/session",
        {"username": "admin", "password": "Very-Secret-9"},
    )
    assert status == 201
    code, out, err = stop(lab)
    assert code == 0 and "Very-Secret-9" not in out + err


def test_kill_9_leaves_a_loadable_state_file(
    tmp_path: Path, labs: list[processes.LabProcess]
) -> None:
    state = tmp_path / "lab.json"
    options = ("--sites", "1", "--leaves", "10", "--state", str(state), "--username", LAB_USERNAME)
    labs.append(lab := serve(*options))
    leaves = [host for host in hosts(lab) if host["dev_type"] == "leaf"]
    for number, host in enumerate(leaves):
        install(host, f"8.{number}.0")

    def saved() -> dict[str, str]:
        versions: dict[str, str] = json.loads(state.read_text())["devices"]
        return versions

    processes.wait_until(
        lambda: saved()["leaf09.mercury"] == "8.9.0", "the lab saved the last install"
    )
    lab.kill()
    assert saved()["leaf09.mercury"] == "8.9.0"
    labs.append(again := serve(*options))
    assert stop(again)[0] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--latency-ms", "5:x"), "'5:x' is not MIN:MAX milliseconds"),
        (("--latency-ms", "20:5"), "latency_ms minimum 20 is above its maximum 5"),
        (("--error-rate", "1.5"), "error_rate must be a probability between 0 and 1"),
        (("--install-failure-rate", "-0.5"), "install_failure_rate must be a probability"),
        (("--reboot-seconds", "-1"), "reboot_seconds must be a number of seconds >= 0"),
        (("--post-upgrade-fault-rate", "2"), "post_upgrade_fault_rate must be a probability"),
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
        env=processes.environment(),
    )
    processes.record("stderr of acmerun lab serve", done.stderr)
    assert done.returncode == 5
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("acmerun: error: "), done.stderr
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
        env=processes.environment(),
    )
    processes.record("stderr of acmerun lab serve", done.stderr)
    assert done.returncode == 5
    assert done.stderr.startswith(f"acmerun: error: lab state file {state} ")
    assert len(done.stderr.splitlines()) == 1
    assert state.read_text() == content


def test_the_post_upgrade_fault_options_pick_the_devices_that_come_back_degraded(
    labs: list[processes.LabProcess],
) -> None:
    labs.append(lab := processes.start_lab("--post-upgrade-fault", "leaf03.*"))
    devices = {host["name"]: host for host in hosts(lab)}
    for name in ("leaf02.earth", "leaf03.earth"):
        host = devices[name]
        status, answer = device_call(
            host, "POST", "/api/v1/session", {"username": LAB_USERNAME, "password": LAB_PASSWORD}
        )
        status, answer = device_call(
            host, "POST", "/api/v1/install", {"version": "9.0.0"}, answer["token"]
        )
        assert status == 200 and answer["status"] == "rebooting"
    processes.wait_until(
        lambda: all(d["up"] for d in get_lab_devices(lab).values()), "the devices are back"
    )
    flags = get_lab_devices(lab)
    assert [name for name, d in flags.items() if d["faulted"]] == ["leaf03.earth"]
    assert flags["leaf02.earth"]["version"] == flags["leaf03.earth"]["version"] == "9.0.0"
    labs.remove(lab)
    assert stop(lab)[0] == 0


def get_lab_devices(lab: processes.LabProcess) -> dict[str, Any]:
    with urllib.request.urlopen(f"{lab.url}/lab/devices", timeout=5) as answer:
        found: dict[str, Any] = json.load(answer)
    return found
