"""nornir inventory plugin ``ACMEInventory``: the fleet as the ACME inventory service sees it.

Where the service is: the ``url`` option, else ``$ACME_INVENTORY_URL``, else the
embedded lab (``acmerun.plugins.inventory.embedded``), started in-process. Several
services (each serving its own sites) are one inventory: ``url`` may be a list, and
either may separate URLs with commas; a host listed by two of them is an error. Every
site becomes a group named after it; every host gets its hostname, port and
platform from the service and the data ``site``, ``dev_type`` and ``rack``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import urllib3
from nornir.core.inventory import Defaults, Group, Groups, Host, Hosts, Inventory, ParentGroups

from acmerun.acmeos import defaults, transport
from acmerun.defaults import INVENTORY_PLUGIN
from acmerun.plugins.inventory.embedded import (
    embedded_lab,
    start_embedded_lab,
    stop_embedded_lab,
    uses_embedded_lab,
)
from acmerun.settings import Inputs, resolve

__all__ = [
    "ACMEInventory",
    "InventoryError",
    "embedded_lab",
    "stop_embedded_lab",
    "uses_embedded_lab",
]

#: the name of the plugin (inventory ``plugin:`` in a runbook, nornir's registry)
INVENTORY_NAME = INVENTORY_PLUGIN


class InventoryError(Exception):
    """The inventory service could not be reached or gave an answer that is not an inventory.

    The acmerun CLI reports it as a configuration error (exit 5).
    """


class ACMEInventory:
    """Loads hosts from the ACME inventory service, optionally only some sites and types."""

    #: the data keys every host carries (checked against runbook templates and filters)
    HOST_DATA_KEYS: frozenset[str] | None = frozenset({"site", "dev_type", "rack"})

    def __init__(
        self,
        filter_sites: Iterable[str] | str | None = None,
        filter_dev_types: Iterable[str] | str | None = None,
        url: str | Sequence[str] | None = None,
    ) -> None:
        self.filter_sites = _names("filter_sites", filter_sites)
        self.filter_dev_types = _names("filter_dev_types", filter_dev_types)
        self.url = url if url is None or isinstance(url, str) else ",".join(url)

    def load(self) -> Inventory:
        """The selected hosts, one group per site; ``InventoryError`` if the service fails."""
        url = resolve("inventory_url", Inputs({}, {"url": self.url}, environ=os.environ)).value
        embedded = url is None
        if embedded:
            try:
                base = start_embedded_lab().url
            except Exception as exc:
                raise InventoryError(f"cannot start the embedded lab: {exc}") from exc
        else:
            base = str(url)
        bases = [u.strip() for u in base.split(",") if u.strip()]
        records = [record for each in bases for record in self._fetch(each)]

        inventory_defaults = Defaults()
        if embedded and not (
            os.environ.get(defaults.USERNAME_ENV) or os.environ.get(defaults.PASSWORD_ENV)
        ):
            inventory_defaults.username = defaults.FACTORY_USERNAME
            inventory_defaults.password = defaults.FACTORY_PASSWORD

        groups = Groups()
        hosts = Hosts()
        for number, record in enumerate(records):
            try:
                name, hostname, port = record["name"], record["hostname"], record["port"]
                site, dev_type = record["site"], record["dev_type"]
                if not (
                    isinstance(name, str)
                    and isinstance(hostname, str)
                    and isinstance(port, int)
                    and isinstance(site, str)
                    and isinstance(dev_type, str)
                ):
                    raise TypeError
            except (KeyError, TypeError):
                raise InventoryError(
                    f"inventory service at {transport.masked(base)} sent a malformed host"
                    f" (#{number}): "
                    f"{str(record)[:200]}"
                ) from None
            if self.filter_sites is not None and site not in self.filter_sites:
                continue
            if self.filter_dev_types is not None and dev_type not in self.filter_dev_types:
                continue
            if name in hosts:
                raise InventoryError(
                    f"inventory service at {transport.masked(base)} lists host {name!r} twice"
                )
            group = groups.get(site)
            if group is None:
                group = groups[site] = Group(name=site, defaults=inventory_defaults)
            hosts[name] = Host(
                name=name,
                hostname=hostname,
                port=port,
                platform=record.get("platform") or "acmeos",
                groups=ParentGroups([group]),
                data={"site": site, "dev_type": dev_type, "rack": record.get("rack")},
                defaults=inventory_defaults,
            )
        return Inventory(hosts=hosts, groups=groups, defaults=inventory_defaults)

    def _fetch(self, base: str) -> list[Any]:
        """The host records one service lists; the request ends within its deadline and size."""
        shown = transport.masked(base)
        problem = transport.url_problem(base)
        if problem is not None:
            raise InventoryError(f"inventory URL {shown!r} cannot be used: {problem}")
        query: dict[str, str] = {}
        if self.filter_sites is not None:
            query["site"] = ",".join(self.filter_sites)
        if self.filter_dev_types is not None:
            query["dev_type"] = ",".join(self.filter_dev_types)
        path = defaults.INVENTORY_HOSTS_PATH
        url = base.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
        if (self.filter_sites is not None and not self.filter_sites) or (
            self.filter_dev_types is not None and not self.filter_dev_types
        ):
            return []
        data = _get(url, shown)
        try:
            hosts = json.loads(data)["hosts"]
        except (ValueError, KeyError, TypeError, RecursionError):
            hosts = None
        if not isinstance(hosts, list):
            raise InventoryError(f"inventory service at {shown} did not send a host list")
        return hosts


def _get(url: str, shown: str) -> bytearray:
    """The body of ``GET url``: within ``INVENTORY_DEADLINE`` in all, ``MAX_INVENTORY_BYTES``."""
    parts = urlsplit(url)
    headers = {}
    if parts.username is not None or parts.password is not None:
        credentials = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        headers = urllib3.util.make_headers(basic_auth=credentials)
    limit, seconds = defaults.MAX_INVENTORY_BYTES, defaults.INVENTORY_DEADLINE
    timeout = urllib3.Timeout(connect=defaults.CONNECT_TIMEOUT, read=defaults.READ_TIMEOUT)
    with transport.request_deadline(seconds) as until, transport.PoolManager(retries=False) as pool:
        try:
            response = pool.request(
                "GET", url, headers=headers, timeout=timeout, redirect=False, preload_content=False
            )
            body = transport.read_answer(response, limit) if response.status == 200 else None
        except transport.TooLarge as exc:
            raise InventoryError(
                f"inventory service at {shown} sent too much: {exc} (the limit)"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if time.monotonic() >= until - 0.005:
                raise InventoryError(
                    f"inventory service at {shown} did not send its whole answer"
                    f" within {seconds:g}s"
                ) from None
            reason = _reason(exc)
            if parts.password:
                reason = reason.replace(parts.password, defaults.MASK)
            raise InventoryError(
                f"cannot reach the inventory service at {shown}: {reason}"
            ) from None
    if body is None:
        response.close()
        response.release_conn()
        raise InventoryError(
            f"inventory service at {shown} answered HTTP {response.status}"
            f" for {defaults.INVENTORY_HOSTS_PATH}"
        )
    return body


def _names(option: str, value: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(name, str) or not name or "," in name:
            raise InventoryError(f"ACMEInventory option {option}: {name!r} is not a name")
    return names


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "reason", None) or exc.__context__ or exc
    text = str(cause)
    return text.split(": ", 1)[-1] if "Failed to establish" in text else text
