"""Every endpoint of the lab's device API and inventory API, over real sockets."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from typing import Any

import pytest

from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME
from tests.support.processes import wait_until


class DeviceConnection:
    """One keep-alive HTTP connection to a lab device, with its session token."""

    def __init__(self, lab: Any, name: str, timeout: float = 5.0) -> None:
        info = lab.devices()[name]
        self.conn = http.client.HTTPConnection(info.hostname, info.port, timeout=timeout)
        self.token = ""

    def call(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["X-Auth-Token"] = self.token
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        assert response.getheader("Content-Type", "").startswith("application/json") or not payload
        return response.status, json.loads(payload) if payload else None

    def login(self, username: str = LAB_USERNAME, password: str = LAB_PASSWORD) -> None:
        status, answer = self.call(
            "POST", "/api/v1/session", {"username": username, "password": password}
        )
        assert status == 201, answer
        self.token = answer["token"]

    def close(self) -> None:
        self.conn.close()


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        return json.load(response)


@pytest.fixture
def edge(lab: Any) -> Any:
    device = DeviceConnection(lab, "edge00.earth")
    device.login()
    yield device
    device.close()


def test_login_gives_a_token_and_wrong_credentials_a_401(lab: Any) -> None:
    device = DeviceConnection(lab, "leaf42.earth")
    status, answer = device.call(
        "POST", "/api/v1/session", {"username": LAB_USERNAME, "password": "nope"}
    )
    assert status == 401
    assert answer["code"] == "authentication_failed"
    assert "nope" not in answer["message"]
    device.login()
    assert device.token


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"username": "netops"}', "username and password must be strings"),
    ],
)
def test_login_with_a_bad_body_is_a_400(lab: Any, raw: bytes, message: str) -> None:
    status, answer = DeviceConnection(lab, "edge01.earth").call("POST", "/api/v1/session", raw=raw)
    assert (status, answer["code"]) == (400, "bad_request")
    assert message in answer["message"]


def test_calls_without_a_known_token_are_unauthenticated(lab: Any) -> None:
    device = DeviceConnection(lab, "edge00.earth")
    for method, path in [("GET", "/api/v1/version"), ("GET", "/api/v1/resources")]:
        status, answer = device.call(method, path)
        assert (status, answer["code"]) == (401, "unauthenticated")
    device.token = "made-up"
    status, answer = device.call("POST", "/api/v1/install", {"version": "5.4.1"})
    assert (status, answer["code"]) == (401, "unauthenticated")


def test_logout_ends_the_session(edge: Any) -> None:
    status, answer = edge.call("DELETE", "/api/v1/session")
    assert (status, answer) == (204, None)
    status, answer = edge.call("GET", "/api/v1/version")
    assert (status, answer["code"]) == (401, "unauthenticated")


def test_a_token_is_only_good_on_its_own_device(lab: Any, edge: Any) -> None:
    other = DeviceConnection(lab, "edge01.earth")
    other.token = edge.token
    assert other.call("GET", "/api/v1/version")[0] == 401


def test_version_matches_the_lab_and_keep_alive_reuses_one_connection(lab: Any, edge: Any) -> None:
    expected = lab.devices()["edge00.earth"].version
    for _ in range(20):
        status, answer = edge.call("GET", "/api/v1/version")
        assert status == 200
        assert answer["full_version"] == expected
        assert f"{answer['os_version']}.{answer['revision']}" == expected
    assert edge.conn.sock is not None  # the same socket served every call


def test_resources_are_plausible_and_vary_a_little(edge: Any) -> None:
    answers = [edge.call("GET", "/api/v1/resources")[1] for _ in range(20)]
    for answer in answers:
        assert 0 <= answer["cpu"] <= 100
        assert answer["ram_total"] in (4096, 8192, 16384, 32768)
        assert 0 < answer["ram_used"] < answer["ram_total"]
    assert len({answer["cpu"] for answer in answers}) > 1
    assert max(a["cpu"] for a in answers) - min(a["cpu"] for a in answers) <= 6.0


def test_install_answers_then_reboots_into_the_new_version(lab: Any, edge: Any) -> None:
    before = lab.devices()["edge00.earth"].version
    status, answer = edge.call("POST", "/api/v1/install", {"version": "6.0.0"})
    assert status == 200
    assert answer == {
        "previous_version": before,
        "version": "6.0.0",
        "status": "rebooting",
        "reboot_seconds": 0.0,
    }
    again = DeviceConnection(lab, "edge00.earth")
    deadline = time.monotonic() + 5
    while True:
        try:
            again.login()
            break
        except OSError:
            assert time.monotonic() < deadline
            again = DeviceConnection(lab, "edge00.earth")
            time.sleep(0.01)
    assert again.call("GET", "/api/v1/version")[1]["full_version"] == "6.0.0"
    assert lab.devices()["edge00.earth"].version == "6.0.0"
    [[start, end]] = lab.downtime()["edge00.earth"]
    assert start is not None and end is not None and start <= end
    # the old session died with the reboot
    edge.conn.close()
    assert edge.call("GET", "/api/v1/version")[0] == 401


def test_installing_the_running_version_changes_nothing(lab: Any, edge: Any) -> None:
    running = lab.devices()["edge00.earth"].version
    status, answer = edge.call("POST", "/api/v1/install", {"version": running})
    assert status == 200
    assert answer == {
        "previous_version": running,
        "version": running,
        "status": "unchanged",
        "reboot_seconds": 0,
    }
    assert edge.call("GET", "/api/v1/version")[0] == 200  # no reboot: same session
    assert lab.downtime()["edge00.earth"] == []


@pytest.mark.parametrize("version", ["5.4", "5.4.1.2", "v5.4.1", "5.4.x", "", " 5.4.1"])
def test_install_of_a_malformed_version_is_invalid_version(edge: Any, version: str) -> None:
    status, answer = edge.call("POST", "/api/v1/install", {"version": version})
    assert (status, answer["code"]) == (400, "invalid_version")


def test_install_without_a_version_string_is_a_bad_request(edge: Any) -> None:
    status, answer = edge.call("POST", "/api/v1/install", {"version": 541})
    assert (status, answer["code"]) == (400, "bad_request")


def test_unknown_paths_and_methods(edge: Any) -> None:
    status, answer = edge.call("GET", "/api/v1/nothing")
    assert (status, answer["code"]) == (404, "not_found")
    status, answer = edge.call("DELETE", "/api/v1/version")
    assert (status, answer["code"]) == (405, "method_not_allowed")
    status, answer = edge.call("GET", "/api/v1/install")
    assert (status, answer["code"]) == (405, "method_not_allowed")


def test_reboot_endpoint_reboots_without_changing_the_version(lab: Any, edge: Any) -> None:
    before = lab.devices()["edge00.earth"].version
    status, answer = edge.call("POST", "/api/v1/reboot")
    assert (status, answer["status"]) == (200, "rebooting")
    wait_until(lambda: lab.devices()["edge00.earth"].up, "edge00 is back")
    assert lab.devices()["edge00.earth"].version == before
    assert len(lab.downtime()["edge00.earth"]) == 1


def test_a_second_install_while_one_runs_is_busy(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=0, install_seconds=1.5)
    first, second = DeviceConnection(lab, "spine00.earth"), DeviceConnection(lab, "spine00.earth")
    first.login()
    second.login()
    results: list[tuple[int, Any]] = []
    worker = threading.Thread(
        target=lambda: results.append(first.call("POST", "/api/v1/install", {"version": "7.0.0"}))
    )
    worker.start()
    device = lab.devices_by_name["spine00.earth"]
    wait_until(lambda: device.installing, "the first install runs")
    status, answer = second.call("POST", "/api/v1/install", {"version": "7.0.1"})
    worker.join()
    assert (status, answer["code"]) == (503, "busy")
    assert results[0][0] == 200
    assert lab.devices()["spine00.earth"].version == "7.0.0"


def test_inventory_lists_every_host_with_its_address(lab: Any) -> None:
    hosts = get_json(f"{lab.url}/api/v1/inventory/hosts")["hosts"]
    assert len(hosts) == 106
    devices = lab.devices()
    for host in hosts:
        info = devices[host["name"]]
        assert host == {
            "name": info.name,
            "hostname": info.hostname,
            "port": info.port,
            "platform": "acmeos",
            "site": "earth",
            "dev_type": info.dev_type,
            "rack": info.rack,
        }


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("site=earth", 106),
        ("site=earth,mars", 212),
        ("site=earth&site=mars", 212),
        ("dev_type=edge", 6),
        ("dev_type=edge,spine&site=venus", 6),
        ("site=pluto", 0),
    ],
)
def test_inventory_filters_by_site_and_dev_type(make_lab: Any, query: str, count: int) -> None:
    lab = make_lab(sites=["venus", "earth", "mars"])
    hosts = get_json(f"{lab.url}/api/v1/inventory/hosts?{query}")["hosts"]
    assert len(hosts) == count


def test_lab_devices_and_downtime(lab: Any) -> None:
    devices = get_json(f"{lab.url}/lab/devices")
    info = lab.devices()["leaf07.earth"]
    assert devices["leaf07.earth"] == {
        "version": info.version,
        "previous_version": None,
        "faulted": False,
        "up": True,
        "hostname": info.hostname,
        "port": info.port,
        "failed_logins": 0,  # the logins it refused (test_auth_limit.py counts them)
    }
    downtime = get_json(f"{lab.url}/lab/downtime")
    assert set(downtime) == set(devices)
    assert all(intervals == [] for intervals in downtime.values())


def test_inventory_errors_are_json(lab: Any) -> None:
    host, port = lab.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/nope")
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())["code"]) == (404, "not_found")
    conn.request("POST", "/lab/devices")
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())["code"]) == (405, "method_not_allowed")


def test_two_labs_side_by_side_never_collide(make_lab: Any) -> None:
    one, two = make_lab(sites=["earth"], leaves=4), make_lab(sites=["earth"], leaves=4)
    assert one.url != two.url
    a, b = one.devices()["edge00.earth"], two.devices()["edge00.earth"]
    assert (a.hostname, a.port) != (b.hostname, b.port)


def test_stop_is_idempotent_and_frees_the_sockets(make_lab: Any) -> None:
    lab = make_lab(sites=["earth"], leaves=2)
    info = lab.devices()["edge00.earth"]
    lab.stop()
    lab.stop()
    with pytest.raises(OSError):
        http.client.HTTPConnection(info.hostname, info.port, timeout=2).connect()
