"""The acmeos connection plugin's option handling: credentials, extras, registration."""

from __future__ import annotations

import pytest
from nornir.core.plugins.connections import ConnectionPluginRegister

from acmerun.acmeos import BadAddress, ConnectionFailure, defaults
from acmerun.plugins.connections.acmeos import (
    CONNECTION_NAME,
    AcmeOS,
    _timeouts,
    register,
    resolve_credentials,
)


def test_the_inventory_credentials_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACMEOS_USERNAME", "env-user")
    monkeypatch.setenv("ACMEOS_PASSWORD", "env-pass")
    assert resolve_credentials("inv-user", "inv-pass") == ("inv-user", "inv-pass")


def test_the_environment_fills_in_what_the_inventory_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACMEOS_USERNAME", "env-user")
    monkeypatch.setenv("ACMEOS_PASSWORD", "env-pass")
    assert resolve_credentials(None, None) == ("env-user", "env-pass")
    assert resolve_credentials("inv-user", None) == ("inv-user", "env-pass")


def test_the_factory_credentials_are_the_last_resort() -> None:
    assert resolve_credentials(None, None) == (
        defaults.FACTORY_USERNAME,
        defaults.FACTORY_PASSWORD,
    )


def test_timeouts_come_from_the_extras() -> None:
    assert _timeouts(None) == {}
    assert _timeouts({"connect_timeout": 2, "read_timeout": 0.5}) == {
        "connect_timeout": 2.0,
        "read_timeout": 0.5,
    }


@pytest.mark.parametrize(
    ("extras", "message"),
    [
        ({"read_timout": 1}, r"unknown acmeos connection extras \['read_timout'\]"),
        ({"read_timeout": 0}, "read_timeout must be a positive number of seconds"),
        ({"connect_timeout": "5"}, "connect_timeout must be a positive number of seconds"),
        ({"connect_timeout": True}, "connect_timeout must be a positive number of seconds"),
    ],
)
def test_bad_extras_are_refused_with_a_clear_message(
    extras: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _timeouts(extras)


def test_a_host_without_hostname_is_unreachable_with_the_reason() -> None:
    with pytest.raises(BadAddress, match=r"^bad device address: the host has no hostname"):
        AcmeOS().open(None, "u", "p", 80, "acmeos")


@pytest.mark.parametrize(
    ("hostname", "port", "reason"),
    [
        ("edge 00", 80, "hostname 'edge 00' is neither an IP address nor a DNS name"),
        ("127.0.0.1", 70000, "port 70000 is not a TCP port (1-65535)"),
        ("127.0.0.1", 0, "port 0 is not a TCP port (1-65535)"),
    ],
)
def test_a_host_with_a_bad_address_is_unreachable_with_the_reason(
    hostname: str, port: int, reason: str
) -> None:
    with pytest.raises(ConnectionFailure) as caught:
        AcmeOS().open(hostname, "u", "p", port, "acmeos")
    assert str(caught.value) == f"bad device address: {reason}"


def test_closing_a_plugin_that_never_opened_is_harmless() -> None:
    AcmeOS().close()


def test_the_plugin_registers_programmatically_and_through_its_entry_point() -> None:
    ConnectionPluginRegister.available.pop(CONNECTION_NAME, None)
    register()
    assert ConnectionPluginRegister.get_plugin(CONNECTION_NAME) is AcmeOS
    register()  # registering twice is harmless
    ConnectionPluginRegister.deregister(CONNECTION_NAME)
    ConnectionPluginRegister.auto_register()
    assert ConnectionPluginRegister.get_plugin("acmeos") is AcmeOS
