"""nornir connection plugin ``acmeos``: an ``AcmeOSAPI`` session per host.

Registered through the ``nornir.plugins.connections`` entry point; ``register()``
does the same programmatically. Credentials come from nornir's usual resolution
(host, groups, defaults, ``connection_options["acmeos"]``); where the inventory
gives none, from ``$ACMEOS_USERNAME`` / ``$ACMEOS_PASSWORD``, else the factory
credentials. ``extras`` may set ``connect_timeout`` and ``read_timeout`` (seconds).
Every login waits for the run's login rate (``rate.LoginRate``), when nornir's
configuration carries one (``user_defined[LOGIN_RATE]``, set by ``init_nornir``).
A host whose hostname or port cannot be connected to fails to open with
``BadAddress`` (a ``ConnectionFailure``: the host is unreachable), naming the reason.
"""

from __future__ import annotations

import os
from typing import Any

from nornir.core.configuration import Config
from nornir.core.plugins.connections import ConnectionPluginRegister

from acmerun.acmeos import defaults
from acmerun.acmeos.client import AcmeOSAPI
from acmerun.acmeos.errors import BadAddress
from acmerun.acmeos.transport import address_problem
from acmerun.plugins.connections.rate import LOGIN_RATE, LoginRate

#: the name tasks use with ``task.host.get_connection(CONNECTION_NAME, ...)``
CONNECTION_NAME = "acmeos"

#: the ``extras`` this plugin understands
EXTRAS = ("connect_timeout", "read_timeout")


def resolve_credentials(username: str | None, password: str | None) -> tuple[str, str]:
    """The inventory's credentials, else the environment's, else the factory ones."""
    if username is None:
        username = os.environ.get(defaults.USERNAME_ENV) or defaults.FACTORY_USERNAME
    if password is None:
        password = os.environ.get(defaults.PASSWORD_ENV) or defaults.FACTORY_PASSWORD
    return username, password


def _timeouts(extras: dict[str, Any] | None) -> dict[str, float]:
    extras = extras or {}
    unknown = sorted(set(extras) - set(EXTRAS))
    if unknown:
        raise ValueError(
            f"unknown acmeos connection extras {unknown}: expected some of {list(EXTRAS)}"
        )
    timeouts: dict[str, float] = {}
    for key in EXTRAS:
        value = extras.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"acmeos connection extra {key} must be a positive number of seconds")
        timeouts[key] = float(value)
    return timeouts


class AcmeOS:
    """nornir connection plugin: opens an ``AcmeOSAPI`` session, kept in ``self.connection``."""

    connection: AcmeOSAPI

    def open(
        self,
        hostname: str | None,
        username: str | None,
        password: str | None,
        port: int | None,
        platform: str | None,
        extras: dict[str, Any] | None = None,
        configuration: Config | None = None,
    ) -> None:
        """Connect to the device and log in (nornir calls this on first ``get_connection``)."""
        port = 80 if port is None else port
        user, secret = resolve_credentials(username, password)
        problem = address_problem(hostname, port, hidden=(secret,))
        if problem is not None:
            raise BadAddress(problem)
        assert hostname is not None
        rate = configuration.user_defined.get(LOGIN_RATE) if configuration is not None else None
        gate = rate.login if isinstance(rate, LoginRate) else None
        connection = AcmeOSAPI(hostname, user, secret, port, login_gate=gate, **_timeouts(extras))
        try:
            connection.open()
        except BaseException:
            connection.close()
            raise
        self.connection = connection

    def close(self) -> None:
        """Log out and release the socket; never raises."""
        connection = getattr(self, "connection", None)
        if connection is not None:
            connection.close()


def register() -> None:
    """Register the plugin with nornir by hand (the entry point does it for ``InitNornir``)."""
    ConnectionPluginRegister.register(CONNECTION_NAME, AcmeOS)
