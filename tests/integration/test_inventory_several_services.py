"""ACMEInventory over several inventory services, each serving its own sites."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from acmerun.plugins.inventory.acme import ACMEInventory, InventoryError


def test_a_list_of_urls_is_one_inventory(make_lab: Callable[..., Any]) -> None:
    earth = make_lab(sites=["earth"], leaves=4)
    mars = make_lab(sites=["mars"], leaves=4)
    inventory = ACMEInventory(url=[earth.url, mars.url]).load()
    assert set(inventory.hosts) == set(earth.devices()) | set(mars.devices())
    assert set(inventory.groups) == {"earth", "mars"}
    assert inventory.hosts["leaf03.mars"].port == mars.devices()["leaf03.mars"].port


def test_comma_separated_urls_in_the_environment(
    make_lab: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    earth = make_lab(sites=["earth"], leaves=4)
    mars = make_lab(sites=["mars"], leaves=4)
    monkeypatch.setenv("ACME_INVENTORY_URL", f"{earth.url}, {mars.url}")
    inventory = ACMEInventory(filter_sites=["mars"]).load()
    assert set(inventory.hosts) == set(mars.devices())


def test_a_host_served_by_two_services_is_an_error(make_lab: Callable[..., Any]) -> None:
    first = make_lab(sites=["earth"], leaves=4)
    second = make_lab(sites=["earth"], leaves=4)
    with pytest.raises(InventoryError, match=r"lists host '[a-z0-9.]+' twice"):
        ACMEInventory(url=f"{first.url},{second.url}").load()
