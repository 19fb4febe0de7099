"""The lab's fault injection, reboots, downtime record and state file, over real sockets."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from acmerun.lab import Lab, LabConfig, LabStartError, LabStateError
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME
from tests.support.processes import wait_until

CREDENTIALS = json.dumps({"username": LAB_USERNAME, "password": LAB_PASSWORD}).encode()


def call(
    lab: Any,
    name: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str = "",
    timeout: float = 5.0,
) -> tuple[int, Any]:
    """One call on a fresh connection (raises OSError/HTTPException when the device fails)."""
    info = lab.devices()[name]
    conn = http.client.HTTPConnection(info.hostname, info.port, timeout=timeout)
    try:
        headers = {"X-Auth-Token": token} if token else {}
        data = CREDENTIALS if path == "/api/v1/session" else None
        if body is not None:
            data = json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else None
    finally:
        conn.close()


def login(lab: Any, name: str, timeout: float = 5.0) -> str:
    status, answer = call(lab, name, "POST", "/api/v1/session", timeout=timeout)
    assert status == 201, answer
    token: str = answer["token"]
    return token


def refused(lab: Any, name: str) -> bool:
    info = lab.devices()[name]
    try:
        socket.create_connection((info.hostname, info.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def timed_calls(lab: Any, name: str, count: int) -> list[float]:
    """How long each of ``count`` version calls to ``name`` took, in seconds."""
    token = login(lab, name)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        assert call(lab, name, "GET", "/api/v1/version", token=token)[0] == 200
        times.append(time.perf_counter() - started)
    return times


def test_no_fault_options_means_no_faults_and_no_latency(lab: Any) -> None:
    times = timed_calls(lab, "leaf01.earth", 50)
    # the fastest of 50 calls: what the lab adds, without the load's pauses
    assert min(times) < 0.01
    assert not any(lab.downtime().values())


def test_latency_is_added_to_every_call_within_its_bounds(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=1, latency_ms=(40.0, 160.0))
    times = timed_calls(lab, "edge00.earth", 20)
    assert min(times) >= 0.04
    # drawn between the bounds, not fixed: of 20 draws some fall in each half of the range
    assert min(times) < 0.1 and max(times) >= 0.1


def test_error_rate_resets_about_that_share_of_calls(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=1, error_rate=0.3, seed=3)
    failures = 0
    calls = 400
    for _ in range(calls):
        try:
            call(lab, "edge01.earth", "POST", "/api/v1/session")
        except (ConnectionError, http.client.HTTPException):
            failures += 1
    assert 0.2 < failures / calls < 0.4


def test_error_rate_one_fails_every_call_without_an_answer(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=1, error_rate=1.0)
    for _ in range(5):
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            call(lab, "edge00.earth", "POST", "/api/v1/session")


def test_dead_devices_refuse_connections_and_are_down_since_the_start(make_lab: Any) -> None:
    before = time.time()
    lab = make_lab(sites=["earth", "mars"], leaves=2, dead=["edge00.*"])
    assert refused(lab, "edge00.earth") and refused(lab, "edge00.mars")
    assert login(lab, "edge01.earth")
    downtime = lab.downtime()
    [[start, end]] = downtime["edge00.earth"]
    assert before - 1 <= start <= time.time() and end is None
    assert downtime["edge01.earth"] == []
    assert lab.devices()["edge00.earth"].up is False
    with urllib.request.urlopen(f"{lab.url}/api/v1/inventory/hosts", timeout=5) as answer:
        names = [host["name"] for host in json.load(answer)["hosts"]]
    assert "edge00.earth" in names  # still in the inventory: powered off, not removed


def test_slow_devices_outlast_a_client_timeout(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=1, slow=["spine0[0-1].earth"])
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        call(lab, "spine00.earth", "POST", "/api/v1/session", timeout=0.3)
    assert time.perf_counter() - started < 10  # the client's timeout, not the device's hour
    assert login(lab, "spine02.earth")


def test_install_and_reboot_take_their_configured_time(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=1, install_seconds=0.3, reboot_seconds=1.0)
    token = login(lab, "leaf00.earth")
    started = time.perf_counter()
    status, answer = call(
        lab, "leaf00.earth", "POST", "/api/v1/install", {"version": "5.9.0"}, token=token
    )
    took = time.perf_counter() - started
    assert status == 200 and answer["status"] == "rebooting" and answer["reboot_seconds"] == 1.0
    assert took >= 0.3
    # answered at the start of the reboot: the device is down, its downtime still open
    assert lab.downtime()["leaf00.earth"][0][1] is None
    assert refused(lab, "leaf00.earth")
    wait_until(lambda: lab.devices()["leaf00.earth"].up, "leaf00 is back")
    [[start, end]] = lab.downtime()["leaf00.earth"]
    assert end - start >= 0.95
    token = login(lab, "leaf00.earth")
    status, answer = call(lab, "leaf00.earth", "GET", "/api/v1/version", token=token)
    assert answer["full_version"] == "5.9.0"


def test_a_reboot_closes_the_devices_open_connections(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=1, reboot_seconds=0.3)
    info = lab.devices()["edge00.earth"]
    idle = http.client.HTTPConnection(info.hostname, info.port, timeout=5)
    idle.request("POST", "/api/v1/session", body=CREDENTIALS)
    token = json.loads(idle.getresponse().read())["token"]
    call(lab, "edge00.earth", "POST", "/api/v1/install", {"version": "6.1.0"}, token=token)
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        idle.request("GET", "/api/v1/version", headers={"X-Auth-Token": token})
        idle.getresponse().read()
    idle.close()


def test_stuck_devices_never_come_back_from_a_reboot(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=1, stuck=["edge00.*"], reboot_seconds=0.1)
    for name in ("edge00.earth", "edge01.earth"):
        token = login(lab, name)
        status, _ = call(lab, name, "POST", "/api/v1/install", {"version": "6.2.0"}, token=token)
        assert status == 200
    # edge01 rebooted after edge00 for as long: edge00 would be back by now
    wait_until(lambda: lab.devices()["edge01.earth"].up, "edge01 is back")
    assert refused(lab, "edge00.earth")
    assert lab.downtime()["edge00.earth"][0][1] is None
    assert lab.downtime()["edge01.earth"][0][1] is not None


def test_install_failures_keep_the_old_version_and_do_not_reboot(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=1, install_failure_rate=1.0)
    before = lab.devices()["edge00.earth"].version
    token = login(lab, "edge00.earth")
    status, answer = call(
        lab, "edge00.earth", "POST", "/api/v1/install", {"version": "6.3.0"}, token=token
    )
    assert (status, answer["code"]) == (500, "install_failed")
    assert before in answer["message"]
    assert lab.devices()["edge00.earth"].version == before
    assert lab.downtime()["edge00.earth"] == []


def test_install_failure_rate_fails_about_that_share_of_installs(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=0, install_failure_rate=0.5, seed=11)
    failed = 0
    for attempt in range(60):
        token = login(lab, "spine01.earth")
        status, _ = call(
            lab,
            "spine01.earth",
            "POST",
            "/api/v1/install",
            {"version": f"6.{attempt}.0"},
            token=token,
        )
        failed += status == 500
        wait_until(lambda: lab.devices()["spine01.earth"].up, "spine01 is back")
    assert 15 <= failed <= 45


def test_versions_survive_a_restart(tmp_path: Path, make_lab: Any) -> None:
    state = tmp_path / "lab.json"
    first = make_lab(sites=["earth"], leaves=2, state_file=state)
    originals = {name: info.version for name, info in first.devices().items()}
    token = login(first, "leaf01.earth")
    call(first, "leaf01.earth", "POST", "/api/v1/install", {"version": "7.1.2"}, token=token)
    # written soon after the change, while the lab runs
    wait_until(
        lambda: json.loads(state.read_text())["devices"]["leaf01.earth"] == "7.1.2",
        "the lab saved the install",
    )
    first.stop()
    second = make_lab(sites=["earth", "mars"], leaves=2, state_file=state)
    versions = {name: info.version for name, info in second.devices().items()}
    assert versions["leaf01.earth"] == "7.1.2"
    assert all(versions[n] == v for n, v in originals.items() if n != "leaf01.earth")
    second.stop()
    assert set(json.loads(state.read_text())["devices"]) == set(versions)


def test_a_lab_serving_fewer_sites_keeps_the_others_versions(tmp_path: Path, make_lab: Any) -> None:
    state = tmp_path / "lab.json"
    both = make_lab(sites=["earth", "mars"], leaves=2, state_file=state)
    for name in ("leaf00.earth", "leaf00.mars"):
        call(both, name, "POST", "/api/v1/install", {"version": "9.0.1"}, token=login(both, name))
    both.stop()
    make_lab(sites=["earth"], leaves=2, state_file=state).stop()
    again = make_lab(sites=["earth", "mars"], leaves=2, state_file=state)
    versions = {n: info.version for n, info in again.devices().items()}
    assert versions["leaf00.earth"] == versions["leaf00.mars"] == "9.0.1"
    assert len(json.loads(state.read_text())["devices"]) == 16


def test_the_state_file_is_loadable_at_every_moment(tmp_path: Path, make_lab: Any) -> None:
    state = tmp_path / "lab.json"
    lab = make_lab(sites=["earth"], leaves=20, state_file=state)
    names = [name for name in lab.devices() if name.startswith("leaf")]
    reads = 0
    for number, name in enumerate(names):
        token = login(lab, name)
        call(lab, name, "POST", "/api/v1/install", {"version": f"8.0.{number}"}, token=token)
        for _ in range(5):
            assert len(json.loads(state.read_text())["devices"]) == 26
            reads += 1
    assert reads == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.json", "lab.json.lock"]


def test_a_corrupt_state_file_is_reported_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "lab.json"
    state.write_text('{"format": 1, "devices": {"edge')
    with pytest.raises(LabStateError) as caught:
        Lab(LabConfig(sites=["earth"], leaves=1, state_file=state)).start()
    assert str(state) in str(caught.value) and "corrupt" in str(caught.value)
    assert state.read_text() == '{"format": 1, "devices": {"edge'


def test_a_busy_inventory_port_is_a_clear_error(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=0)
    port = int(lab.url.rsplit(":", 1)[1])
    with pytest.raises(LabStartError, match=f"cannot listen on 127.0.0.1:{port}"):
        Lab(LabConfig(sites=["earth"], leaves=0, port=port)).start()


@pytest.mark.slow
def test_ten_thousand_devices_start_and_answer() -> None:
    started = time.perf_counter()
    with Lab(LabConfig(sites=100, leaves=94)) as lab:
        took = time.perf_counter() - started
        devices = lab.devices()
        assert len(devices) == 10_000
        assert took < 60, f"start-up took {took:.1f}s"  # bounded, even on a loaded machine
        with urllib.request.urlopen(f"{lab.url}/api/v1/inventory/hosts", timeout=10) as answer:
            hosts = json.load(answer)["hosts"]
        assert len(hosts) == 10_000
        assert len({(h["hostname"], h["port"]) for h in hosts}) == 10_000
        for host in hosts:
            conn = http.client.HTTPConnection(host["hostname"], host["port"], timeout=5)
            conn.request(
                "POST",
                "/api/v1/session",
                body=json.dumps({"username": "admin", "password": "acme-factory"}),
            )
            assert conn.getresponse().status == 201
            conn.close()
