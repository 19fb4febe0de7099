"""The acmeos connection plugin through nornir: where credentials and timeouts come from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.plugins.inventory import InventoryPluginRegister

from acmerun.acmeos import AcmeOSAPI
from acmerun.acmeos.errors import AuthenticationError
from acmerun.plugins.connections.acmeos import CONNECTION_NAME, AcmeOS
from acmerun.plugins.inventory.acme import ACMEInventory
from acmerun.plugins.tasks import acmeos
from tests.support.credentials import LAB_PASSWORD, LAB_USERNAME

HOST = "leaf00.earth"


def nornir_one(lab: Any) -> Nornir:
    nr = InitNornir(
        inventory={"plugin": "ACMEInventory", "options": {"url": lab.url}},
        logging={"enabled": False},
    )
    return nr.filter(filter_func=lambda h: h.name == HOST)


def version_of(nr: Nornir) -> Any:
    result = nr.run(task=acmeos.get_version)[HOST][0]
    return result.exception or result.result["full_version"]


@pytest.fixture
def factory_lab(make_lab: Callable[..., Any]) -> Any:
    """A lab whose devices accept the factory credentials."""
    return make_lab(sites=["earth"], username="admin", password="acme-factory")


def test_credentials_from_the_inventory_defaults(lab: Any) -> None:
    nr = nornir_one(lab)
    nr.inventory.defaults.username = LAB_USERNAME
    nr.inventory.defaults.password = LAB_PASSWORD
    assert version_of(nr) == lab.devices()[HOST].version


def test_credentials_from_the_host_group(lab: Any) -> None:
    nr = nornir_one(lab)
    nr.inventory.groups["earth"].username = LAB_USERNAME
    nr.inventory.groups["earth"].password = LAB_PASSWORD
    assert version_of(nr) == lab.devices()[HOST].version


def test_credentials_from_connection_options_win_over_the_host_ones(lab: Any) -> None:
    nr = nornir_one(lab)
    nr.inventory.hosts[HOST].username = "somebody-else"
    nr.inventory.hosts[HOST].password = "wrong"
    nr.inventory.defaults.connection_options[CONNECTION_NAME] = ConnectionOptions(
        username=LAB_USERNAME, password=LAB_PASSWORD
    )
    assert version_of(nr) == lab.devices()[HOST].version


def test_the_inventory_wins_over_the_environment(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACMEOS_USERNAME", "env-user")
    monkeypatch.setenv("ACMEOS_PASSWORD", "env-password")
    nr = nornir_one(lab)
    nr.inventory.defaults.username = LAB_USERNAME
    nr.inventory.defaults.password = LAB_PASSWORD
    assert version_of(nr) == lab.devices()[HOST].version


def test_the_environment_when_the_inventory_has_no_credentials(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACMEOS_USERNAME", LAB_USERNAME)
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    assert version_of(nornir_one(lab)) == lab.devices()[HOST].version


def test_the_factory_credentials_when_nothing_else_is_set(factory_lab: Any) -> None:
    assert version_of(nornir_one(factory_lab)) == factory_lab.devices()[HOST].version


def test_no_credentials_for_a_lab_that_wants_others_is_an_authentication_error(
    lab: Any,
) -> None:
    exc = version_of(nornir_one(lab))
    assert isinstance(exc, AuthenticationError)
    assert str(exc).startswith("authentication failed (user 'admin')")
    assert "acme-factory" not in str(exc)


def test_extras_set_the_client_timeouts(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACMEOS_USERNAME", LAB_USERNAME)
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    nr = nornir_one(lab)
    nr.inventory.defaults.connection_options[CONNECTION_NAME] = ConnectionOptions(
        extras={"connect_timeout": 1.5, "read_timeout": 7}
    )
    host = nr.inventory.hosts[HOST]
    api = host.get_connection(CONNECTION_NAME, nr.config)
    assert isinstance(api, AcmeOSAPI)
    assert (api.connect_timeout, api.read_timeout) == (1.5, 7.0)
    assert (api.hostname, api.port) == (host.hostname, host.port)
    assert api.is_open
    assert LAB_PASSWORD not in repr(api)
    nr.close_connections()
    assert not api.is_open


def test_a_connection_is_reused_across_tasks_and_closed_by_nornir(
    lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACMEOS_USERNAME", LAB_USERNAME)
    monkeypatch.setenv("ACMEOS_PASSWORD", LAB_PASSWORD)
    nr = nornir_one(lab)
    nr.run(task=acmeos.get_version)
    plugin = nr.inventory.hosts[HOST].connections[CONNECTION_NAME]
    assert isinstance(plugin, AcmeOS)
    first = plugin.connection
    nr.run(task=acmeos.get_cpu_ram)
    assert nr.inventory.hosts[HOST].connections[CONNECTION_NAME].connection is first
    nr.close_connections()
    assert nr.inventory.hosts[HOST].connections == {}


def test_nornir_finds_both_plugins_through_their_entry_points() -> None:
    ConnectionPluginRegister.available.pop("acmeos", None)
    InventoryPluginRegister.available.pop("ACMEInventory", None)
    ConnectionPluginRegister.auto_register()
    InventoryPluginRegister.auto_register()
    assert ConnectionPluginRegister.get_plugin("acmeos") is AcmeOS
    assert InventoryPluginRegister.get_plugin("ACMEInventory") is ACMEInventory
