"""ACMEInventory against a lab's inventory API, and the embedded lab it starts on its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nornir import InitNornir

from acmerun import paths
from acmerun.acmeos import defaults
from acmerun.plugins.inventory import embedded
from acmerun.plugins.inventory.acme import (
    ACMEInventory,
    InventoryError,
    embedded_lab,
    stop_embedded_lab,
    uses_embedded_lab,
)
from acmerun.plugins.tasks import acmeos


@pytest.fixture
def two_sites(make_lab: Callable[..., Any]) -> Any:
    return make_lab(sites=["earth", "mars"])


@pytest.fixture
def no_embedded_lab() -> Iterator[None]:
    """Every test starts without an embedded lab and stops the one it started."""
    stop_embedded_lab()
    yield
    stop_embedded_lab()


def test_every_host_of_the_service_with_its_address_and_data(two_sites: Any) -> None:
    inventory = ACMEInventory(url=two_sites.url).load()
    devices = two_sites.devices()
    assert set(inventory.hosts) == set(devices) and len(devices) == 212
    assert sorted(inventory.groups) == ["earth", "mars"]
    for name, host in inventory.hosts.items():
        device = devices[name]
        assert (host.hostname, host.port, host.platform) == (device.hostname, device.port, "acmeos")
        kind, site = name.split(".")
        index = int(kind[-2:])
        dev_type = kind[:-2]
        rack = {"edge": 10, "spine": 20, "leaf": 100}[dev_type] + index // 2
        assert host.data == {"site": site, "dev_type": dev_type, "rack": rack}
        assert [g.name for g in host.groups] == [site]


@pytest.mark.parametrize(
    ("options", "count"),
    [
        ({"filter_sites": ["earth"]}, 106),
        ({"filter_sites": ["earth", "mars"]}, 212),
        ({"filter_dev_types": ["edge"]}, 4),
        ({"filter_sites": ["mars"], "filter_dev_types": ["edge", "spine"]}, 6),
        ({"filter_sites": ["pluto"]}, 0),
    ],
)
def test_filters(two_sites: Any, options: dict[str, Any], count: int) -> None:
    inventory = ACMEInventory(url=two_sites.url, **options).load()
    assert len(inventory.hosts) == count
    for host in inventory.hosts.values():
        assert host["site"] in options.get("filter_sites", ["earth", "mars"])
        assert host["dev_type"] in options.get("filter_dev_types", ["edge", "spine", "leaf"])


def test_a_stopped_service_is_an_inventory_error(make_lab: Callable[..., Any]) -> None:
    lab = make_lab(sites=["earth"])
    url = lab.url
    lab.stop()
    with pytest.raises(InventoryError, match=f"cannot reach the inventory service at {url}"):
        ACMEInventory(url=url).load()


@pytest.mark.usefixtures("no_embedded_lab")
def test_with_no_service_configured_the_embedded_lab_serves_the_whole_fleet() -> None:
    assert uses_embedded_lab(None) and embedded_lab() is None
    inventory = ACMEInventory().load()
    lab = embedded_lab()
    assert lab is not None
    assert len(inventory.hosts) == 8 * 106
    assert set(inventory.groups) == {
        "mercury",
        "venus",
        "earth",
        "mars",
        "jupyter",
        "uranus",
        "saturn",
        "neptune",
    }
    assert inventory.defaults.username == defaults.FACTORY_USERNAME
    assert inventory.defaults.password == defaults.FACTORY_PASSWORD
    assert lab.config.state_file == paths.state_dir() / "lab-state.json"
    assert (lab.config.install_seconds, lab.config.reboot_seconds) == (
        embedded.INSTALL_SECONDS,
        embedded.REBOOT_SECONDS,
    )
    ACMEInventory(filter_sites=["earth"]).load()
    assert embedded_lab() is lab  # one per process


@pytest.mark.usefixtures("no_embedded_lab")
def test_the_environment_credentials_are_left_to_the_connection_plugin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACMEOS_USERNAME", "someone")
    inventory = ACMEInventory(filter_sites=["earth"]).load()
    assert inventory.defaults.username is None and inventory.defaults.password is None


@pytest.mark.slow
@pytest.mark.usefixtures("no_embedded_lab")
def test_the_embedded_fleet_keeps_its_state_from_one_start_to_the_next() -> None:
    def run(task: Any, **kwargs: Any) -> Any:
        nr = InitNornir(
            inventory={"plugin": "ACMEInventory", "options": {"filter_sites": ["earth"]}},
            logging={"enabled": False},
        )
        nr = nr.filter(filter_func=lambda h: h.name == "leaf42.earth")
        result = nr.run(task=task, **kwargs)["leaf42.earth"][0]
        nr.close_connections()
        return result

    before = run(acmeos.get_version).result["full_version"]
    target = "5.4.1" if before != "5.4.1" else "5.3.9"
    upgraded = run(acmeos.upgrade_os, version=target)
    assert not upgraded.failed, upgraded.exception
    assert upgraded.result == f"upgraded {before} -> {target}"
    stop_embedded_lab()
    assert embedded_lab() is None
    assert (paths.state_dir() / "lab-state.json").is_file()
    again = run(acmeos.upgrade_os, version=target)
    assert (again.result, again.changed) == ("nothing to do", False)
