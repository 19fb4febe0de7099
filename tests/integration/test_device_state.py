"""Device state worth verifying: interfaces, neighbors, previous image, reboots, faults.

Everything runs against a real lab over real sockets: the device API with
http.client, the client (``AcmeOSAPI``) and the nornir tasks.
"""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir

from acmerun.acmeos.client import AcmeOSAPI
from acmerun.acmeos.errors import CommandError
from acmerun.lab.state import read_state
from acmerun.plugins.tasks import acmeos
from acmerun.runbook.tasks import resolve
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME

REBOOT = 0.2


def client(lab: Any, name: str) -> AcmeOSAPI:
    info = lab.devices()[name]
    device = AcmeOSAPI(info.hostname, LAB_USERNAME, LAB_PASSWORD, info.port)
    device.open()
    return device


def upgrade(device: AcmeOSAPI, version: str) -> None:
    report = device.install_os_version(version)
    assert report["status"] == "rebooting"
    device.wait_until_up(10.0, expected=report["reboot_seconds"])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def states(device: AcmeOSAPI) -> dict[str, str]:
    return {n["peer"]: n["state"] for n in device.get_neighbors()}


def oper(device: AcmeOSAPI) -> dict[str, str]:
    return {i["name"]: i["oper_state"] for i in device.get_interfaces()}


def test_the_device_api_serves_interfaces_and_neighbors(lab: Any) -> None:
    info = lab.devices()["leaf07.earth"]
    conn = http.client.HTTPConnection(info.hostname, info.port, timeout=5)
    body = json.dumps({"username": LAB_USERNAME, "password": LAB_PASSWORD})
    conn.request("POST", "/api/v1/session", body=body)
    token = json.loads(conn.getresponse().read())["token"]
    answers = {}
    for path in ("/api/v1/interfaces", "/api/v1/neighbors", "/api/v1/version"):
        conn.request("GET", path, headers={"X-Auth-Token": token})
        response = conn.getresponse()
        assert response.status == 200
        answers[path] = json.loads(response.read())
    conn.request("GET", "/api/v1/neighbors")
    response = conn.getresponse()
    assert response.status == 401 and json.loads(response.read())["code"] == "unauthenticated"
    conn.close()
    assert answers["/api/v1/interfaces"]["interfaces"] == [
        {"name": "mgmt0", "admin_state": "up", "oper_state": "up", "description": "management"},
        {
            "name": "eth1",
            "admin_state": "up",
            "oper_state": "up",
            "description": "to spine02.earth",
        },
        {
            "name": "eth2",
            "admin_state": "up",
            "oper_state": "up",
            "description": "to spine03.earth",
        },
        {
            "name": "eth3",
            "admin_state": "up",
            "oper_state": "up",
            "description": "peer link to leaf06.earth",
        },
        {"name": "eth4", "admin_state": "down", "oper_state": "down", "description": "unused"},
    ]
    neighbors = answers["/api/v1/neighbors"]["neighbors"]
    assert [(n["peer"], n["interface"], n["state"]) for n in neighbors] == [
        ("spine02.earth", "eth1", "established"),
        ("spine03.earth", "eth2", "established"),
        ("leaf06.earth", "eth3", "established"),
    ]
    assert all(20 <= n["prefixes_received"] < 500 for n in neighbors)
    assert answers["/api/v1/version"]["previous_version"] is None


def test_state_is_the_same_from_lab_to_lab_and_a_lone_leaf_has_no_peer(
    make_lab: Callable[..., Any],
) -> None:
    first, second = make_lab(sites=["earth"], leaves=3), make_lab(sites=["earth"], leaves=3)
    one, two = client(first, "leaf02.earth"), client(second, "leaf02.earth")
    assert one.get_neighbors() == two.get_neighbors()
    assert [n["peer"] for n in one.get_neighbors()] == ["spine00.earth", "spine01.earth"]
    edge = client(first, "edge01.earth")
    assert [n["peer"] for n in edge.get_neighbors()] == [
        "spine00.earth",
        "spine01.earth",
        "spine02.earth",
        "spine03.earth",
        "edge00.earth",
    ]
    for device in (one, two, edge):
        device.close()


def test_a_faulty_device_comes_back_from_an_upgrade_degraded_and_a_rollback_clears_it(
    make_lab: Callable[..., Any],
) -> None:
    lab = make_lab(
        sites=["earth"], leaves=4, post_upgrade_fault=["leaf01.earth"], reboot_seconds=REBOOT
    )
    canary, healthy = client(lab, "leaf01.earth"), client(lab, "leaf00.earth")
    before = canary.get_version()["full_version"]
    assert set(states(canary).values()) == {"established"}
    upgrade(canary, "9.0.0")
    upgrade(healthy, "9.0.0")
    version = canary.get_version()
    assert version["full_version"] == "9.0.0" and version["previous_version"] == before
    assert states(canary) == {
        "spine02.earth": "idle",
        "spine03.earth": "established",
        "leaf00.earth": "established",
    }
    idle = next(n for n in canary.get_neighbors() if n["state"] == "idle")
    assert idle["prefixes_received"] == 0 and idle["interface"] == "eth1"
    assert oper(canary)["eth1"] == "down"
    assert set(states(healthy).values()) == {"established"}
    assert get_json(f"{lab.url}/lab/devices")["leaf01.earth"]["faulted"] is True
    # an install of a third version is no rollback: the fault stays
    upgrade(canary, "9.0.1")
    assert states(canary)["spine02.earth"] == "idle"
    upgrade(canary, "9.0.0")  # the previous image: a rollback
    assert set(states(canary).values()) == {"established"}
    assert oper(canary)["eth1"] == "up"
    assert canary.get_version()["previous_version"] == "9.0.1"
    installs = get_json(f"{lab.url}/lab/installs")["installs"]
    assert [(r["device"], r["from"], r["to"], r["result"]) for r in installs] == [
        ("leaf01.earth", before, "9.0.0", "installed"),
        ("leaf00.earth", lab.installs()[1]["from"], "9.0.0", "installed"),
        ("leaf01.earth", "9.0.0", "9.0.1", "installed"),
        ("leaf01.earth", "9.0.1", "9.0.0", "installed"),
    ]
    assert installs == lab.installs()
    times = [r["at"] for r in installs]
    assert times == sorted(times)
    canary.close()
    healthy.close()


def test_a_fault_rate_picks_the_same_devices_every_time(make_lab: Callable[..., Any]) -> None:
    faulted = []
    for _ in range(2):
        lab = make_lab(sites=["earth"], leaves=10, post_upgrade_fault_rate=0.5, seed=3)
        for name in lab.devices():
            device = client(lab, name)
            upgrade(device, "9.9.9")
            device.close()
        flags = get_json(f"{lab.url}/lab/devices")
        faulted.append(sorted(name for name, d in flags.items() if d["faulted"]))
    assert faulted[0] == faulted[1]
    assert 2 <= len(faulted[0]) <= 14  # about half of 16


def test_a_failed_install_is_recorded_and_leaves_no_fault(make_lab: Callable[..., Any]) -> None:
    lab = make_lab(sites=["earth"], leaves=1, install_failure_rate=1.0, post_upgrade_fault=["*"])
    device = client(lab, "leaf00.earth")
    before = device.get_version()["full_version"]
    with pytest.raises(CommandError):
        device.install_os_version("9.0.0")
    assert lab.installs() == [
        {
            "device": "leaf00.earth",
            "from": before,
            "to": "9.0.0",
            "at": lab.installs()[0]["at"],
            "result": "failed",
        }
    ]
    assert device.get_version()["previous_version"] is None
    assert set(states(device).values()) == {"established"}
    device.close()


def test_reboot_keeps_the_version_records_downtime_and_no_install(
    make_lab: Callable[..., Any],
) -> None:
    lab = make_lab(sites=["earth"], leaves=1, reboot_seconds=REBOOT)
    device = client(lab, "spine00.earth")
    before = device.get_version()
    report = device.reboot()
    assert report == {"status": "rebooting", "reboot_seconds": REBOOT}
    assert not device.is_open
    device.wait_until_up(10.0, expected=report["reboot_seconds"])
    assert device.get_version() == before
    [(down, up)] = lab.downtime()["spine00.earth"]
    assert up is not None and up - down >= REBOOT
    assert lab.installs() == []
    device.close()


def nornir_for(lab: Any, monkeypatch: pytest.MonkeyPatch, *, dry_run: bool = False) -> Nornir:
    monkeypatch.setenv("ACMEOS_USERNAME", LAB_USERNAME)
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    nr = InitNornir(
        inventory={"plugin": "ACMEInventory", "options": {"url": lab.url}},
        runner={"plugin": "threaded", "options": {"num_workers": 4}},
        logging={"enabled": False},
        dry_run=dry_run,
    )
    return nr.filter(filter_func=lambda h: h.name in ("leaf00.earth", "leaf01.earth"))


def test_the_tasks_give_data_a_check_can_compare(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(
        sites=["earth"], leaves=2, post_upgrade_fault=["leaf01.*"], reboot_seconds=REBOOT
    )
    nr = nornir_for(lab, monkeypatch)
    before = nr.run(task=acmeos.get_neighbors)
    assert not nr.run(task=acmeos.upgrade_os, version="9.0.0").failed
    after = nr.run(task=acmeos.get_neighbors)
    interfaces = nr.run(task=acmeos.get_interfaces)
    assert not (before.failed or after.failed or interfaces.failed)
    assert after["leaf00.earth"][0].result == before["leaf00.earth"][0].result
    healthy = after["leaf00.earth"][0].result
    assert healthy["established"] == 3 and healthy["not_established"] == []
    assert healthy["by_peer"]["leaf01.earth"]["state"] == "established"
    faulty = after["leaf01.earth"][0].result
    assert faulty["established"] == 2 and faulty["not_established"] == ["spine02.earth"]
    assert faulty["by_peer"]["spine02.earth"] == {
        "peer": "spine02.earth",
        "interface": "eth1",
        "state": "idle",
        "prefixes_received": 0,
    }
    assert interfaces["leaf00.earth"][0].result["down"] == []
    assert interfaces["leaf01.earth"][0].result["down"] == ["eth1"]
    assert interfaces["leaf01.earth"][0].result["by_name"]["eth4"]["admin_state"] == "down"
    nr.close_connections()


def test_the_reboot_task_waits_for_the_device_and_changes_nothing_in_dry_run(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], leaves=2, reboot_seconds=REBOOT)
    dry = nornir_for(lab, monkeypatch, dry_run=True)
    results = dry.run(task=acmeos.reboot)
    assert not results.failed
    assert {(r[0].result, r[0].changed) for r in results.values()} == {("would reboot", True)}
    assert lab.downtime()["leaf00.earth"] == []
    dry.close_connections()
    nr = nornir_for(lab, monkeypatch)
    results = nr.run(task=acmeos.reboot, reboot_timeout=10.0)
    assert not results.failed
    for name, multi in results.items():
        assert multi[0].changed and multi[0].result["status"] == "rebooted"
        assert multi[0].result["seconds"] >= REBOOT
        [(_, up)] = lab.downtime()[name]
        assert up is not None
    assert lab.installs() == []
    # the device answers right after the task: the next task needs no wait
    assert not nr.run(task=acmeos.get_neighbors).failed
    nr.close_connections()


def test_the_reboot_task_fails_when_the_device_does_not_come_back(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab(sites=["earth"], leaves=2, stuck=["leaf01.*"], reboot_seconds=REBOOT)
    results = nornir_for(lab, monkeypatch).run(task=acmeos.reboot, reboot_timeout=1.0)
    assert results.failed_hosts.keys() == {"leaf01.earth"}
    assert "1" in str(results["leaf01.earth"][0].exception)


def test_runbooks_can_name_the_new_tasks() -> None:
    assert resolve("acmeos.get_interfaces") is acmeos.get_interfaces
    assert resolve("acmeos.get_neighbors") is acmeos.get_neighbors
    assert resolve("acmeos.reboot") is acmeos.reboot


def test_the_state_file_keeps_previous_images_faults_and_installs(
    make_lab: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "lab.json"
    options = {
        "sites": ["earth"],
        "leaves": 2,
        "state_file": path,
        "post_upgrade_fault": ["leaf01.*"],
        "reboot_seconds": REBOOT,
    }
    lab = make_lab(**options)
    device = client(lab, "leaf01.earth")
    before = device.get_version()["full_version"]
    upgrade(device, "9.0.0")
    device.close()
    lab.stop()
    state = read_state(path)
    assert state.previous == {"leaf01.earth": before}
    assert state.faulted == {"leaf01.earth"}
    assert [(r["device"], r["from"], r["to"]) for r in state.installs] == [
        ("leaf01.earth", before, "9.0.0")
    ]
    again = make_lab(**options)
    device = client(again, "leaf01.earth")
    assert device.get_version()["previous_version"] == before
    assert states(device)["spine02.earth"] == "idle"
    upgrade(device, before)  # a rollback, by the restarted lab
    assert set(states(device).values()) == {"established"}
    device.close()
    again.stop()
    state = read_state(path)
    assert state.faulted == set() and state.previous == {"leaf01.earth": "9.0.0"}
    assert [r["to"] for r in state.installs] == ["9.0.0", before]
